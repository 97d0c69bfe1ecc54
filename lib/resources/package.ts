// Packages installed with the host's manager: apt on Debian, opkg on OpenWrt (apk on 25.12). Software installs run first (the runner's phase 1).
import { sh } from "../command.ts";
import { UserError } from "../errors.ts";
import { packagesFact } from "../facts/system.ts";
import type { OsFamily } from "../inventory/types.ts";
import type { Resource, ResourceOptions } from "./resource.ts";

export interface PackageSpec extends ResourceOptions {
  names: string[];
  os: OsFamily;
}

export function packages(spec: PackageSpec): Resource {
  const installed = packagesFact(spec.os, spec.names);
  return {
    name: `Install ${spec.names.join(", ")}`,
    notify: spec.notify,
    tags: spec.tags,
    installs: true,
    provides: { packages: spec.names },
    facts: [installed],
    plan(read) {
      const have = read(installed);
      const missing = spec.names.filter((n) => !have.names.has(n));
      if (missing.length === 0) return null;
      const command =
        have.manager === "apt"
          ? sh`export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q --no-install-recommends ${missing} || { apt-get update -q && apt-get install -y -q --no-install-recommends ${missing}; }`
          : have.manager === "apk"
            ? sh`apk update && apk add ${missing}`
            : have.manager === "opkg"
              ? sh`opkg update && opkg install ${missing}`
              : undefined;
      if (!command)
        throw new UserError(
          `cannot install ${missing.join(", ")}: the host has no package manager (neither opkg nor apk)`,
          "use an OpenWrt build with opkg (22.03-24.10) or apk (25.12 and later)",
        );
      return { commands: [command], summary: `install ${missing.join(", ")}` };
    },
  };
}
