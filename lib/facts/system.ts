// Facts about the running system: kernel parameters, services, packages, and whether a guard command succeeds.
import { raw, sh, type Command } from "../command.ts";
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

export type PackageManager = "apt" | "opkg" | "apk";

/** A package's name from a line of `opkg list-installed` ("ip-full - 6.1-1") or `apk list --installed` ("ip-full-6.11.0-r1 x86_64 {iproute2} ..."). */
function installedName(line: string): string {
  const first = line.split(" - ")[0].trim().split(/\s+/)[0] ?? "";
  // apk joins name and version with "-": the version is the last hyphenated run starting with a digit ("-1.8.2-r1").
  return line.includes(" - ") ? first : first.replace(/-\d[^-]*(-r\d+)?$/, "");
}

export interface InstalledPackages {
  /** The manager the host actually has (OpenWrt 25.12: apk), or null when it has none. */
  manager: PackageManager | null;
  names: Set<string>;
}

/**
 * Installed package names (of those asked about, for apt; all of them, for OpenWrt). On OpenWrt the probe finds the
 * manager itself (apk on 25.12, else opkg), so one resource serves every release.
 */
export const packagesFact = (os: "debian" | "openwrt", names: readonly string[]): Fact<InstalledPackages> =>
  os === "debian"
    ? defineFact(
        `packages:apt:${[...names].sort().join(",")}`,
        sh`dpkg-query -W -f=${"${Package} ${db:Status-Abbrev}\n"} ${names} 2>/dev/null; true`,
        ({ stdout }) => ({
          manager: "apt",
          names: new Set(
            stdout
              .split("\n")
              .filter((l) => /^\S+ ii/.test(l))
              .map((l) => l.split(" ")[0].split(":")[0]),
          ),
        }),
      )
    : defineFact(
        `packages:openwrt`,
        raw(
          `if command -v apk >/dev/null 2>&1; then echo @apk; apk list --installed 2>/dev/null; elif command -v opkg >/dev/null 2>&1; then echo @opkg; opkg list-installed; else echo @none; fi`,
        ),
        ({ stdout }) => {
          const [head = "", ...lines] = stdout.split("\n");
          const manager = head === "@apk" ? "apk" : head === "@opkg" ? "opkg" : null;
          return { manager, names: new Set(lines.filter((l) => l.trim()).map(installedName)) };
        },
      );

/** Exit code 0 of a guard command (an `unless`), probed read-only. */
export const succeedsFact = (command: Command): Fact<boolean> =>
  defineFact(`succeeds:${command.render()}`, command, ({ code }) => code === 0);
