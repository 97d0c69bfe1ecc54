// What differs between OpenWrt releases, in one table: the package manager, the names of the packages the roles install, nebula's version.
import type { PackageManager } from "./system.ts";

/** "23.05.5" -> [23, 5, 5]; "24.10.0-rc2" -> [24, 10, 0]; "SNAPSHOT" or unreadable -> null. */
function parseRelease(text: string): [number, number, number] | null {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : null;
}

/** Orders two dotted versions ("1.6.1" < "1.10.0"): negative, 0 or positive. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((p) => parseInt(p, 10) || 0);
  const pb = b.split(/[.-]/).map((p) => parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++)
    if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

export interface OpenwrtRelease {
  /** The first release of the row; a host runs the newest row at or below its own release. */
  from: string;
  packageManager: Extract<PackageManager, "opkg" | "apk">;
  /** The nebula the release's feed ships (DESIGN.md: 22.03 1.6.1, 23.05 and 24.10 1.8.2, 25.12 1.10.x). */
  nebula: string;
  packages: {
    /** tc: OpenWrt split iproute2's tc into tc-tiny / tc-full / tc-bpf after 21.02; tc-full has HTB, u32 and mirred's actions. */
    tc: string;
    /** BusyBox's ip has no -j and no vxlan; ip-tiny leaves vxlan out too (IP_CONFIG_TINY): ip-full. */
    ip: string;
    /** iperf3, the client scripts/test-shaping.ts runs on the uplink: not in a default image, and named iperf3 on every release. */
    iperf3: string;
  };
}

/** Newest first. Releases older than 22.03 are refused at enrollment (fw3, iptables), the last row only names what they had. */
const OPENWRT_RELEASES: readonly OpenwrtRelease[] = [
  {
    from: "25.12",
    packageManager: "apk",
    nebula: "1.10.0",
    packages: { tc: "tc-full", ip: "ip-full", iperf3: "iperf3" },
  },
  {
    from: "23.05",
    packageManager: "opkg",
    nebula: "1.8.2",
    packages: { tc: "tc-full", ip: "ip-full", iperf3: "iperf3" },
  },
  {
    from: "22.03",
    packageManager: "opkg",
    nebula: "1.6.1",
    packages: { tc: "tc-full", ip: "ip-full", iperf3: "iperf3" },
  },
  { from: "0.0", packageManager: "opkg", nebula: "1.6.1", packages: { tc: "tc", ip: "ip-full", iperf3: "iperf3" } },
];

/** The oldest release the project serves, and the one an unreadable release (a snapshot build) is taken for when it names none. */
export const OLDEST_SUPPORTED = "22.03";
const DEFAULT_RELEASE = "23.05";

export function openwrtRelease(release: string): OpenwrtRelease {
  const parsed = parseRelease(release);
  // SNAPSHOT and other unnumbered builds follow the newest branch; an empty release (no /etc/openwrt_release field) a common one.
  if (!parsed)
    return release.trim().toUpperCase().startsWith("SNAPSHOT") ? OPENWRT_RELEASES[0] : openwrtRelease(DEFAULT_RELEASE);
  const version = parsed.join(".");
  return (
    OPENWRT_RELEASES.find((row) => compareVersions(version, row.from) >= 0) ??
    OPENWRT_RELEASES[OPENWRT_RELEASES.length - 1]
  );
}

/** Whether this release is one the project serves (22.03 or later; a snapshot too). */
export const releaseSupported = (release: string): boolean => {
  const parsed = parseRelease(release);
  return parsed === null
    ? release.trim().toUpperCase().startsWith("SNAPSHOT")
    : compareVersions(parsed.join("."), OLDEST_SUPPORTED) >= 0;
};
