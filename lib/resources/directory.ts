// A directory with a mode and owner.
import { sh, type Command } from "../command.ts";
import { UserError } from "../errors.ts";
import { pathFact } from "../facts/files.ts";
import type { Resource, ResourceOptions } from "./resource.ts";

export interface DirectorySpec extends ResourceOptions {
  path: string;
  mode?: string;
  owner?: string;
  group?: string;
}

export function directory(spec: DirectorySpec): Resource {
  const stat = pathFact(spec.path);
  const mode = spec.mode ?? "0755";
  return {
    name: `Create directory ${spec.path}`,
    notify: spec.notify,
    tags: spec.tags,
    facts: [stat],
    plan(read) {
      const now = read(stat);
      if (now.exists && now.type !== "directory")
        throw new UserError(`${spec.path} exists on the host but is a ${now.type}, not a directory`);
      const owner = spec.owner ? `${spec.owner}${spec.group ? `:${spec.group}` : ""}` : undefined;
      if (!now.exists) {
        const commands: Command[] = [sh`mkdir -p ${spec.path}`, sh`chmod ${mode} ${spec.path}`];
        if (owner) commands.push(sh`chown ${owner} ${spec.path}`);
        return { commands, summary: "create" };
      }
      const commands: Command[] = [];
      if (now.mode !== mode.padStart(4, "0")) commands.push(sh`chmod ${mode} ${spec.path}`);
      if ((spec.owner && now.owner !== spec.owner) || (spec.group && now.group !== spec.group))
        commands.push(sh`chown ${owner!} ${spec.path}`);
      return commands.length ? { commands, summary: `mode/owner of ${spec.path}` } : null;
    },
  };
}
