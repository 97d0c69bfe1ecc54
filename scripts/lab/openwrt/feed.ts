// The lab's opkg feed per release: OpenWrt's real package names, plausible versions, and the files each one brings
// (taken from this machine: Debian's binaries stand in for OpenWrt's builds). kmod-* packages bring no files: the lab
// runs this machine's kernel, which has the modules built in or loadable already.
import { RELEASE_INFO, type OpenwrtRelease } from "./release.ts";

export interface FeedPackage {
  version: string;
  /** "base" or "packages": the feed's directory in the download URL opkg prints. */
  section: "base" | "packages";
  /** Path in the image -> file on this machine. */
  files?: Record<string, string>;
  depends?: string[];
  provides?: string[];
  /** opkg ALTERNATIVES: priority, the path, the file it points at. */
  alternatives?: { priority: number; path: string; target: string }[];
  /** Paths recorded with their SHA-256 in /usr/lib/opkg/status (what sysupgrade keeps when changed). */
  conffiles?: string[];
}

const IP = "/usr/sbin/ip";
const TC = "/usr/sbin/tc";

export function feedPackages(release: OpenwrtRelease): Record<string, FeedPackage> {
  const r = RELEASE_INFO[release];
  const kmod = (depends: string[] = []): FeedPackage => ({ version: r.kernel, section: "base", depends });
  const iproute = (name: string, tool: "ip" | "tc", priority: number, from: string): FeedPackage => ({
    version: r.iproute2,
    section: "base",
    files: { [`/usr/libexec/${name}`]: from },
    alternatives: [{ priority, path: `/sbin/${tool}`, target: `/usr/libexec/${name}` }],
    provides: [tool],
    ...(tool === "tc" ? { depends: ["kmod-sched-core"] } : {}),
  });
  return {
    // Debian's nebula 1.6.1, labelled with its true version: real 23.05 and 24.10 feeds ship nebula 1.8.2-1.
    nebula: {
      version: "1.6.1-1",
      section: "packages",
      files: { "/usr/sbin/nebula": "/usr/bin/nebula" },
      depends: ["kmod-tun"],
    },
    "nebula-cert": {
      version: "1.6.1-1",
      section: "packages",
      files: { "/usr/sbin/nebula-cert": "/usr/bin/nebula-cert" },
    },
    // ip-tiny lacks some objects of ip-full on a router (e.g. no tunnel types beyond the basics); here both are iproute2's full ip.
    "ip-tiny": iproute("ip-tiny", "ip", 200, IP),
    "ip-full": iproute("ip-full", "ip", 300, IP),
    "tc-tiny": iproute("tc-tiny", "tc", 200, TC),
    "tc-full": iproute("tc-full", "tc", 300, TC),
    "tc-bpf": iproute("tc-bpf", "tc", 400, TC),
    iperf3: { version: r.iperf3, section: "packages", files: { "/usr/bin/iperf3": "/usr/bin/iperf3" } },
    "kmod-tun": kmod(),
    "kmod-vxlan": kmod(["kmod-udptunnel4", "kmod-udptunnel6"]),
    "kmod-udptunnel4": kmod(),
    "kmod-udptunnel6": kmod(),
    "kmod-sched-core": kmod(),
    "kmod-ifb": kmod(["kmod-sched-core"]),
    "kmod-sched-cake": kmod(["kmod-sched-core"]),
    "kmod-sched": kmod(["kmod-sched-core"]),
    "kmod-nft-nat": kmod(["kmod-nft-core"]),
    "kmod-nft-core": kmod(),
    // Installed by default (firewall4 depends on it); provides the "nftables" name the nebula role asks for.
    "nftables-json": {
      version: r.nftables,
      section: "base",
      files: { "/usr/sbin/nft": "/usr/sbin/nft" },
      provides: ["nftables"],
    },
  };
}

/** Packages a default image has installed (recorded in /usr/lib/opkg/status at build time, their files in the image). */
export const DEFAULT_INSTALLED = ["nftables-json", "kmod-nft-core", "kmod-nft-nat"];
