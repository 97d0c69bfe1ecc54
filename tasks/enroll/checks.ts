// What a router must offer before it is enrolled: a supported OS, room on flash, a sane clock, a package manager.
import { raw } from "../../lib/command.ts";
import { UserError } from "../../lib/errors.ts";
import type { OsFamily } from "../../lib/inventory/types.ts";
import type { Transport } from "../../lib/transport/types.ts";

export interface RouterFacts {
  os: OsFamily;
  release: string;
  freeKiB: number;
  clockSkewSeconds: number;
  packageManager: boolean;
  model: string;
}

const PROBE = raw(
  [
    `if [ -f /etc/openwrt_release ]; then echo os=openwrt; . /etc/openwrt_release; echo "release=$DISTRIB_DESCRIPTION"; elif [ -f /etc/debian_version ]; then echo os=debian; echo "release=Debian $(cat /etc/debian_version)"; else echo "os=$(uname -s)"; fi`,
    `echo "free=$(df -k /overlay 2>/dev/null | awk 'NR==2{print $4}' || true)"`,
    `echo "freeroot=$(df -k / | awk 'NR==2{print $4}')"`,
    `echo "clock=$(date +%s)"`,
    `if command -v opkg >/dev/null || command -v apt-get >/dev/null; then echo pm=yes; else echo pm=no; fi`,
    `echo "model=$(cat /tmp/sysinfo/model 2>/dev/null || uname -m)"`,
  ].join("; "),
);

/** Minimum free flash for nebula and its config (the OpenWrt package is about 6 MB unpacked). */
export const MIN_FREE_KIB = 8 * 1024;
export const MAX_CLOCK_SKEW_SECONDS = 300;

export async function inspectRouter(transport: Transport): Promise<RouterFacts> {
  const result = await transport.run(PROBE);
  const v = Object.fromEntries(result.stdout.split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
  if (v.os !== "openwrt" && v.os !== "debian") throw new UserError(`${transport.target} runs "${v.os ?? "unknown"}": only OpenWrt routers (and Debian hosts) can be enrolled`);
  return {
    os: v.os,
    release: v.release ?? "",
    freeKiB: Number(v.free || v.freeroot || 0),
    clockSkewSeconds: Number(v.clock) - Math.floor(Date.now() / 1000),
    packageManager: v.pm === "yes",
    model: v.model ?? "",
  };
}

/** Every reason the router cannot be enrolled now, each with what to do about it. */
export function routerProblems(f: RouterFacts): string[] {
  const problems: string[] = [];
  if (f.freeKiB < MIN_FREE_KIB) problems.push(`only ${Math.round(f.freeKiB / 1024)} MB free on flash, ${MIN_FREE_KIB / 1024} MB needed: remove unused packages (opkg remove ...) or use a bigger router`);
  if (Math.abs(f.clockSkewSeconds) > MAX_CLOCK_SKEW_SECONDS)
    problems.push(`the router's clock is ${Math.round(f.clockSkewSeconds / 60)} minutes off: certificates would not be valid; set it (date -s "YYYY-MM-DD hh:mm:ss") or enable NTP`);
  if (!f.packageManager) problems.push("no package manager (opkg) found: this firmware cannot install nebula");
  return problems;
}
