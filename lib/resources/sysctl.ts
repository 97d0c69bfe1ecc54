// A kernel parameter: set now (sysctl -w) and kept across reboots (a line in a sysctl.d file).
import { sh } from "../command.ts";
import { contentFact } from "../facts/files.ts";
import { sysctlFact } from "../facts/system.ts";
import { UserError } from "../errors.ts";
import { editLines } from "./line.ts";
import type { Resource, ResourceOptions } from "./resource.ts";
import { writeFileCommand } from "./write-file.ts";

export interface SysctlSpec extends ResourceOptions {
  key: string;
  value: string | number;
  /** Where the setting persists; OpenWrt and Debian both read /etc/sysctl.d at boot. */
  file?: string;
}

export function sysctl(spec: SysctlSpec): Resource {
  const file = spec.file ?? "/etc/sysctl.d/90-meshisp.conf";
  const value = String(spec.value);
  const now = sysctlFact(spec.key);
  const persisted = contentFact(file);
  const line = `${spec.key} = ${value}`;
  const escaped = spec.key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return {
    name: `Set ${spec.key} to ${value}`,
    notify: spec.notify,
    tags: spec.tags,
    facts: [now, persisted],
    plan(read) {
      const current = read(now);
      if (current === null) throw new UserError(`kernel parameter ${spec.key} does not exist on this host`);
      const commands = [];
      const changes = [];
      if (current !== value) {
        commands.push(sh`echo ${value} > ${`/proc/sys/${spec.key.replace(/\./g, "/")}`}`);
        changes.push(`${current} -> ${value}`);
      }
      const next = editLines(read(persisted), { line, match: new RegExp(`^\\s*${escaped}\\s*=`) });
      if (next !== null) {
        commands.push(sh`mkdir -p ${file.replace(/\/[^/]+$/, "")}`, writeFileCommand({ path: file, content: next }));
        changes.push(`persist in ${file}`);
      }
      return commands.length ? { commands, summary: changes.join(", ") } : null;
    },
  };
}
