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

/** Only OpenWrt's default applets and POSIX sh (no stat, no hostname): see shared/openwrt/busybox-applets-openwrt-23.05.txt. */
const PROBE = [
  `if [ -f /etc/openwrt_release ]; then echo os=openwrt; sed -n "s/^DISTRIB_RELEASE=['\\"]\\{0,1\\}\\([^'\\"]*\\).*/release=\\1/p" /etc/openwrt_release; elif [ -f /etc/debian_version ]; then echo os=debian; echo "release=$(cat /etc/debian_version)"; else echo "os=$(uname -s)"; fi`,
  `if [ -d /run/systemd/system ]; then echo init=systemd; else echo init=initd; fi`,
  `echo "arch=$(uname -m)"`,
  `echo "kernel=$(uname -r)"`,
  `echo "hostname=$(cat /proc/sys/kernel/hostname)"`,
  // 25.12 has apk; a router with both (an upgrade in progress) is taken as apk's.
  `if [ -f /etc/openwrt_release ] && command -v apk >/dev/null 2>&1; then echo pm=apk; elif command -v opkg >/dev/null 2>&1; then echo pm=opkg; elif command -v apt-get >/dev/null 2>&1; then echo pm=apt; fi`,
  `if [ -x /sbin/fw4 ] && command -v nft >/dev/null 2>&1; then echo firewall=fw4; elif [ -x /sbin/fw3 ]; then echo firewall=fw3; elif command -v nft >/dev/null 2>&1; then echo firewall=nft; else echo firewall=none; fi`,
  // nebula -version prints "Version: 1.8.2".
  `for b in nebula /usr/sbin/nebula /usr/bin/nebula; do if command -v "$b" >/dev/null 2>&1; then "$b" -version 2>/dev/null | sed -n 's/^Version: */nebula=/p'; break; fi; done`,
  `[ -f ${PENDING_HANDLERS} ] && sed 's/^/pending=/' ${PENDING_HANDLERS}`,
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
