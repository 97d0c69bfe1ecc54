// One line in a text file: present (replacing the line a regexp matches) or absent. Rewrites the file atomically.
import { contentFact, pathFact } from "../facts/files.ts";
import type { Resource, ResourceOptions } from "./resource.ts";
import { writeFileCommand } from "./write-file.ts";

export interface LineSpec extends ResourceOptions {
  path: string;
  line: string;
  /** A line matching this is replaced by `line` (the first match); others matching are removed. */
  match?: RegExp;
  absent?: boolean;
  /** Mode for a file the resource has to create. */
  mode?: string;
}

/** The file's new text, or null when it already is as asked. Exported for the table-driven tests. */
export function editLines(current: string | null, spec: Pick<LineSpec, "line" | "match" | "absent">): string | null {
  const text = current ?? "";
  const lines = text === "" ? [] : text.replace(/\n$/, "").split("\n");
  const matches = (l: string) => l === spec.line || (spec.match ? spec.match.test(l) : false);
  let next: string[];
  if (spec.absent) {
    next = lines.filter((l) => !matches(l));
  } else {
    const first = lines.findIndex(matches);
    next =
      first === -1
        ? [...lines, spec.line]
        : lines.flatMap((l, i) => (i === first ? [spec.line] : matches(l) ? [] : [l]));
  }
  const out = next.length ? `${next.join("\n")}\n` : "";
  return out === text || (current === null && spec.absent) ? null : out;
}

export function lineInFile(spec: LineSpec): Resource {
  const content = contentFact(spec.path);
  const stat = pathFact(spec.path);
  return {
    name: spec.absent ? `Remove a line from ${spec.path}` : `Ensure a line in ${spec.path}`,
    notify: spec.notify,
    tags: spec.tags,
    facts: [content, stat],
    plan(read) {
      const current = read(content);
      const next = editLines(current, spec);
      if (next === null) return null;
      const now = read(stat);
      const mode = now.mode ?? spec.mode ?? "0644";
      return {
        commands: [writeFileCommand({ path: spec.path, content: next, mode, owner: now.owner, group: now.group })],
        summary: spec.absent ? `remove ${JSON.stringify(spec.line)}` : `add ${JSON.stringify(spec.line)}`,
        diff: { path: spec.path, after: next, secret: false, exists: current !== null },
      };
    },
  };
}
