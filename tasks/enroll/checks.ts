// What a router must offer before it is enrolled: a supported OS and release, nftables with fw4, a package manager, room on flash, a sane clock.
import { raw } from "../../lib/command.ts";
import { UserError } from "../../lib/errors.ts";
import { defineFact } from "../../lib/facts/fact.ts";
import { hostFacts, type Firewall } from "../../lib/facts/host.ts";
import { OLDEST_SUPPORTED, releaseSupported } from "../../lib/facts/release.ts";
import type { PackageManager } from "../../lib/facts/system.ts";
import type { OsFamily } from "../../lib/inventory/types.ts";
import { gather } from "../../lib/runner/gather.ts";
import type { Transport } from "../../lib/transport/types.ts";
import { parseAddresses, radioPortsFact, type RouterAddress, type RouterPort } from "./radio.ts";

export interface RouterFacts {
  os: OsFamily;
  /** DISTRIB_RELEASE on OpenWrt ("23.05.5"), Debian's version on Debian. */
  release: string;
  /** DISTRIB_DESCRIPTION ("OpenWrt 23.05.5 r24106-10cc5fcd00"), for the log line. */
  description: string;
  freeKiB: number;
  clockSkewSeconds: number;
  packageManager: PackageManager | null;
  firewall: Firewall;
  nebulaVersion: string | null;
  model: string;
  /** Root's password hash is empty: a fresh OpenWrt image lets root in over SSH (and LuCI) with no password at all. */
  blankRootPassword: boolean;
  /** Its IPv4 addresses and their devices. */
  addresses: RouterAddress[];
  /** Its network devices, with carrier and whether UCI uses them (to find the port cabled to the NanoStation). */
  ports: RouterPort[];
}

const routerExtras = defineFact(
  "enroll:router",
  raw(
    [
      `if [ -f /etc/openwrt_release ]; then . /etc/openwrt_release; echo "description=$DISTRIB_DESCRIPTION"; elif [ -f /etc/debian_version ]; then echo "description=Debian $(cat /etc/debian_version)"; fi`,
      `echo "free=$(df -k /overlay 2>/dev/null | awk 'NR==2{print $4}' || true)"`,
      `echo "freeroot=$(df -k / | awk 'NR==2{print $4}')"`,
      `echo "clock=$(date +%s)"`,
      `echo "model=$(cat /tmp/sysinfo/model 2>/dev/null || uname -m)"`,
      // Only whether root's hash field is empty, never the hash itself (it would end up in logs).
      `echo "blankroot=$(awk -F: '$1 == "root" { print ($2 == "" ? 1 : 0) }' /etc/shadow 2>/dev/null)"`,
      // BusyBox ip has no -j or -o: the plain listing, its inet lines joined with ';' on one line.
      `echo "inet=$(ip -4 addr show 2>/dev/null | awk '$1 == "inet" { printf "%s;", $0 }')"`,
    ].join("\n"),
  ),
  ({ stdout }) =>
    Object.fromEntries(
      stdout
        .split("\n")
        .filter((l) => l.includes("="))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    ) as Record<string, string>,
);

/** Minimum free flash for nebula and its config (the OpenWrt package is about 6 MB unpacked). */
const MIN_FREE_KIB = 8 * 1024;
const MAX_CLOCK_SKEW_SECONDS = 300;

/** One round trip: the runner's own host facts (release, manager, firewall, nebula) and what enrollment checks besides. */
export async function inspectRouter(transport: Transport): Promise<RouterFacts> {
  const read = await gather(transport, [hostFacts, routerExtras, radioPortsFact]);
  const host = read(hostFacts);
  if ("unsupported" in host)
    throw new UserError(
      `${transport.target} runs "${host.unsupported}": only OpenWrt routers (and Debian hosts) can be enrolled`,
    );
  const v = read(routerExtras);
  return {
    os: host.os,
    release: host.release,
    description: v.description || `${host.os} ${host.release}`.trim(),
    freeKiB: Number(v.free || v.freeroot || 0),
    clockSkewSeconds: Number(v.clock) - Math.floor(Date.now() / 1000),
    packageManager: host.packageManager,
    firewall: host.firewall,
    nebulaVersion: host.nebulaVersion,
    model: v.model ?? "",
    blankRootPassword: v.blankroot === "1",
    addresses: parseAddresses((v.inet ?? "").split(";").join("\n")),
    ports: read(radioPortsFact),
  };
}

const UPGRADE =
  "upgrade to OpenWrt 23.05 or later (GL.iNet: firmware 4.5 or later, based on 23.05), or flash stock OpenWrt";

/** Every reason the router cannot be enrolled now, each with what to do about it. */
export function routerProblems(f: RouterFacts): string[] {
  const problems: string[] = [];
  if (f.os === "openwrt") {
    if (!releaseSupported(f.release)) {
      problems.push(
        `${f.release ? `OpenWrt ${f.release}` : "this OpenWrt (no DISTRIB_RELEASE in /etc/openwrt_release)"} is older than ${OLDEST_SUPPORTED}, the oldest release the mesh serves: ${UPGRADE}`,
      );
    }
    if (f.firewall === "fw3")
      problems.push(
        `the router's firewall is fw3 with iptables (OpenWrt 21.02 and older, many GL.iNet 4.x firmwares); the mesh needs nftables with fw4: ${UPGRADE}`,
      );
    else if (f.firewall === "none")
      problems.push(`the router has no nftables (nft): the mesh's routing and firewall need it: ${UPGRADE}`);
  }
  if (!f.packageManager)
    problems.push(`no package manager (opkg or apk) found: this firmware cannot install nebula; ${UPGRADE}`);
  if (f.freeKiB < MIN_FREE_KIB)
    problems.push(
      `only ${Math.round(f.freeKiB / 1024)} MB free on flash, ${MIN_FREE_KIB / 1024} MB needed: remove unused packages (${f.packageManager === "apk" ? "apk del" : "opkg remove"} ...) or use a bigger router`,
    );
  if (Math.abs(f.clockSkewSeconds) > MAX_CLOCK_SKEW_SECONDS)
    problems.push(
      `the router's clock is ${Math.round(f.clockSkewSeconds / 60)} minutes off: certificates would not be valid; set it (date -s "YYYY-MM-DD hh:mm:ss") or enable NTP`,
    );
  return problems;
}

/** The line enrollment prints about the router. */
export const describeRouter = (f: RouterFacts): string =>
  `${f.description} (${f.model}), ${f.packageManager ?? "no package manager"}, firewall ${f.firewall}, nebula ${f.nebulaVersion ?? "not installed yet"}, ${Math.round(f.freeKiB / 1024)} MB free, clock ${f.clockSkewSeconds >= 0 ? "+" : ""}${f.clockSkewSeconds} s${f.blankRootPassword ? ", NO root password" : ""}`;
