// Packages installed with the host's manager: apt on Debian, opkg on OpenWrt.
import { sh } from "../command.ts";
import { packagesFact, type PackageManager } from "../facts/system.ts";
import type { OsFamily } from "../inventory/types.ts";
import type { Resource, ResourceOptions } from "./resource.ts";

export interface PackageSpec extends ResourceOptions {
  names: string[];
  os: OsFamily;
}

export const managerFor = (os: OsFamily): PackageManager => (os === "openwrt" ? "opkg" : "apt");

export function packages(spec: PackageSpec): Resource {
  const manager = managerFor(spec.os);
  const installed = packagesFact(manager, spec.names);
  return {
    name: `Install ${spec.names.join(", ")}`,
    notify: spec.notify,
    tags: spec.tags,
    facts: [installed],
    plan(read) {
      const have = read(installed);
      const missing = spec.names.filter((n) => !have.has(n));
      if (missing.length === 0) return null;
      const command =
        manager === "apt"
          ? sh`export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q --no-install-recommends ${missing} || { apt-get update -q && apt-get install -y -q --no-install-recommends ${missing}; }`
          : sh`opkg update && opkg install ${missing}`;
      return { commands: [command], summary: `install ${missing.join(", ")}` };
    },
  };
}
