// A file with given content, mode and owner (or absent). Compared by sha256; replaced atomically.
import { createHash } from "node:crypto";
import { sh, type Command } from "../command.ts";
import { pathFact } from "../facts/files.ts";
import { UserError } from "../errors.ts";
import type { Plan, Resource, ResourceOptions } from "./resource.ts";
import { writeFileCommand } from "./write-file.ts";

export interface FileSpec extends ResourceOptions {
  path: string;
  /** undefined with `absent: true` removes the file. */
  content?: string | Buffer;
  absent?: boolean;
  mode?: string;
  owner?: string;
  group?: string;
  /** Keys, certificates' private parts, passwords: masked in --diff and -v. */
  secret?: boolean;
  name?: string;
}

export function file(spec: FileSpec): Resource {
  const stat = pathFact(spec.path);
  const mode = spec.mode ?? "0644";
  return {
    name: spec.name ?? (spec.absent ? `Remove ${spec.path}` : `Write ${spec.path}`),
    provides: spec.absent ? undefined : { file: spec.path },
    notify: spec.notify,
    tags: spec.tags,
    facts: [stat],
    plan(read): Plan | null {
      const now = read(stat);
      if (spec.absent) return now.exists ? { commands: [sh`rm -rf ${spec.path}`], summary: "remove" } : null;
      const data = typeof spec.content === "string" ? Buffer.from(spec.content) : (spec.content ?? Buffer.alloc(0));
      const hash = createHash("sha256").update(data).digest("hex");
      if (now.exists && now.type !== "file") {
        throw new UserError(
          `${spec.path} is a ${now.type} on the host, not a file: refusing to replace it`,
          "move it away by hand, then run again",
        );
      }
      if (!now.exists || now.sha256 !== hash) {
        return {
          commands: [
            writeFileCommand({
              path: spec.path,
              content: data,
              mode,
              owner: spec.owner,
              group: spec.group,
              secret: spec.secret,
            }),
          ],
          summary: now.exists ? "update content" : "create",
          diff: { path: spec.path, after: data.toString("utf8"), secret: !!spec.secret, exists: now.exists },
        };
      }
      const commands: Command[] = [];
      const changes: string[] = [];
      if (now.mode !== mode.padStart(4, "0")) {
        commands.push(sh`chmod ${mode} ${spec.path}`);
        changes.push(`mode ${now.mode} -> ${mode}`);
      }
      if ((spec.owner && now.owner !== spec.owner) || (spec.group && now.group !== spec.group)) {
        commands.push(sh`chown ${`${spec.owner ?? now.owner}:${spec.group ?? now.group}`} ${spec.path}`);
        changes.push(`owner ${now.owner}:${now.group} -> ${spec.owner ?? now.owner}:${spec.group ?? now.group}`);
      }
      return commands.length ? { commands, summary: changes.join(", ") } : null;
    },
  };
}
