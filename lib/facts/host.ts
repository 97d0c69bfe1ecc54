// What the runner learns about a host before it builds the host's tasks: OS and release, init system, package manager, firewall, nebula's version, pending handlers.
import { raw } from "../command.ts";
import type { OsFamily } from "../inventory/types.ts";
import { defineFact } from "./fact.ts";
import type { PackageManager } from "./system.ts";

export type InitSystem = "systemd" | "initd";

/** fw4: nftables and firewall4 (OpenWrt 22.03+); fw3: iptables (21.02 and before); nft: nftables without fw4 (Debian, the lab); none. */
export type Firewall = "fw4" | "fw3" | "nft" | "none";

export interface HostFacts {
  os: OsFamily;
  init: InitSystem;
  arch: string;
  kernel: string;
  hostname: string;
  /** OpenWrt's DISTRIB_RELEASE ("23.05.5", "SNAPSHOT") or Debian's version ("12.5"); "" when unreadable. */
  release: string;
  /** The package manager found on the host (OpenWrt 25.12 has apk instead of opkg), or null. */
  packageManager: PackageManager | null;
  firewall: Firewall;
  /** `nebula -version` where nebula is installed ("1.8.2"), else null. */
  nebulaVersion: string | null;
  /** Handlers a previous run notified but could not run (it failed): they run this time. */
  pendingHandlers: string[];
}

/** Where the engine keeps its own small state on a host (persistent on OpenWrt's overlay too). */
export const STATE_DIR = "/etc/meshisp";
export const PENDING_HANDLERS = `${STATE_DIR}/pending-handlers`;

/**
 * Reads DISTRIB_RELEASE from an openwrt_release file ("23.05.5", quoted either way or not), with the shell's own `read`
 * and patterns. Every process counts: this probe runs at the start of every play on every host, and on this lab machine
 * a fork costs about 15 ms and an exec 20-35 ms (measured 2026-12-02 under dash and BusyBox ash; scripts/bench.ts).
 */
export const openwrtReleaseProbe = (file: string) =>
  `while IFS= read -r l || [ -n "$l" ]; do case $l in DISTRIB_RELEASE=*) v=\${l#DISTRIB_RELEASE=}; v=\${v#[\\"\\']}; echo "release=\${v%%[\\"\\']*}";; esac; l=; done < ${file}`;

/** One `pending=NAME` line per line of the pending-handlers file (its last line with or without a newline). */
export const pendingHandlersProbe = (file: string) =>
  `[ -f ${file} ] && while IFS= read -r l || [ -n "$l" ]; do echo "pending=$l"; l=; done < ${file}`;

/**
 * Only OpenWrt's default applets and POSIX sh (no stat, no hostname): see shared/openwrt/busybox-applets-openwrt-23.05.txt.
 * Builtins wherever they do: files read with `read`, not cat or sed. Two processes in all (uname, and nebula where
 * installed), where it took seven execs and ten forks before.
 */
const PROBE = [
  `if [ -f /etc/openwrt_release ]; then echo os=openwrt; ${openwrtReleaseProbe("/etc/openwrt_release")}; elif [ -f /etc/debian_version ]; then echo os=debian; read -r v < /etc/debian_version; echo "release=$v"; else echo "os=$(uname -s)"; fi`,
  `if [ -d /run/systemd/system ]; then echo init=systemd; else echo init=initd; fi`,
  `echo "arch=$(uname -m)"`,
  `read -r v < /proc/sys/kernel/osrelease; echo "kernel=$v"`,
  `read -r v < /proc/sys/kernel/hostname; echo "hostname=$v"`,
  // 25.12 has apk; a router with both (an upgrade in progress) is taken as apk's.
  `if [ -f /etc/openwrt_release ] && command -v apk >/dev/null 2>&1; then echo pm=apk; elif command -v opkg >/dev/null 2>&1; then echo pm=opkg; elif command -v apt-get >/dev/null 2>&1; then echo pm=apt; fi`,
  `if [ -x /sbin/fw4 ] && command -v nft >/dev/null 2>&1; then echo firewall=fw4; elif [ -x /sbin/fw3 ]; then echo firewall=fw3; elif command -v nft >/dev/null 2>&1; then echo firewall=nft; else echo firewall=none; fi`,
  // nebula -version prints "Version: 1.8.2".
  `for b in nebula /usr/sbin/nebula /usr/bin/nebula; do if command -v "$b" >/dev/null 2>&1; then set -f; set -- $("$b" -version 2>/dev/null); set +f; [ "$1" = Version: ] && echo "nebula=$2"; break; fi; done`,
  pendingHandlersProbe(PENDING_HANDLERS),
  `true`,
].join("\n");

export const hostFacts = defineFact<HostFacts | { unsupported: string }>("host", raw(PROBE), ({ stdout }) =>
  parseHostFacts(stdout),
);

export function parseHostFacts(stdout: string): HostFacts | { unsupported: string } {
  const values = new Map<string, string[]>();
  for (const line of stdout.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) values.set(line.slice(0, at), [...(values.get(line.slice(0, at)) ?? []), line.slice(at + 1)]);
  }
  const one = (k: string) => values.get(k)?.[0]?.trim() ?? "";
  const os = one("os");
  if (os !== "debian" && os !== "openwrt") return { unsupported: os || "unknown" };
  const pm = one("pm");
  const firewall = one("firewall");
  return {
    os,
    init: one("init") === "systemd" ? "systemd" : "initd",
    arch: one("arch"),
    kernel: one("kernel"),
    hostname: one("hostname"),
    release: one("release"),
    packageManager: pm === "apk" || pm === "opkg" || pm === "apt" ? pm : null,
    firewall: firewall === "fw4" || firewall === "fw3" || firewall === "nft" ? firewall : "none",
    nebulaVersion: one("nebula") || null,
    pendingHandlers: [...new Set(values.get("pending") ?? [])].filter(Boolean),
  };
}
