// Facts about the running system: kernel parameters, services, packages, and whether a guard command succeeds.
import { sh, type Command } from "../command.ts";
import { defineFact, type Fact } from "./fact.ts";
import type { InitSystem } from "./host.ts";

export const sysctlFact = (key: string): Fact<string | null> =>
  defineFact(`sysctl:${key}`, sh`cat ${`/proc/sys/${key.replace(/\./g, "/")}`}`, ({ stdout, code }) =>
    code === 0 ? stdout.trim().replace(/\s+/g, " ") : null,
  );

export interface ServiceState {
  exists: boolean;
  enabled: boolean;
  running: boolean;
}

export const serviceFact = (name: string, init: InitSystem): Fact<ServiceState> =>
  defineFact(
    `service:${init}:${name}`,
    init === "systemd"
      ? sh`if systemctl cat ${`${name}.service`} >/dev/null 2>&1; then echo exists; fi; systemctl is-enabled ${name} 2>/dev/null; systemctl is-active ${name} 2>/dev/null; true`
      : sh`if [ -x ${`/etc/init.d/${name}`} ]; then echo exists; ${`/etc/init.d/${name}`} enabled && echo enabled; ${`/etc/init.d/${name}`} running && echo active; fi; true`,
    ({ stdout }) => {
      const lines = stdout.split("\n").map((l) => l.trim());
      return {
        exists: lines.includes("exists"),
        enabled: lines.includes("enabled"),
        running: lines.includes("active"),
      };
    },
  );

export type PackageManager = "apt" | "opkg";

/** Installed package names (of those asked about, for apt; all of them, for opkg). */
export const packagesFact = (manager: PackageManager, names: readonly string[]): Fact<Set<string>> =>
  manager === "apt"
    ? defineFact(`packages:apt:${[...names].sort().join(",")}`, sh`dpkg-query -W -f=${"${Package} ${db:Status-Abbrev}\n"} ${names} 2>/dev/null; true`, ({ stdout }) =>
        new Set(stdout.split("\n").filter((l) => /^\S+ ii/.test(l)).map((l) => l.split(" ")[0].split(":")[0])),
      )
    : defineFact(`packages:opkg`, sh`opkg list-installed`, ({ stdout }) =>
        new Set(stdout.split("\n").filter(Boolean).map((l) => l.split(" - ")[0].trim())),
      );

/** Exit code 0 of a guard command (an `unless`), probed read-only. */
export const succeedsFact = (command: Command): Fact<boolean> =>
  defineFact(`succeeds:${command.render()}`, command, ({ code }) => code === 0);
