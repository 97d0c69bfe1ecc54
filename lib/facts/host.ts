// What the runner learns about a host before it builds the host's tasks: OS, init system, kernel, pending handlers.
import { raw } from "../command.ts";
import type { OsFamily } from "../inventory/types.ts";
import { defineFact } from "./fact.ts";

export type InitSystem = "systemd" | "initd";

export interface HostFacts {
  os: OsFamily;
  init: InitSystem;
  arch: string;
  kernel: string;
  hostname: string;
  /** Handlers a previous run notified but could not run (it failed): they run this time. */
  pendingHandlers: string[];
}

/** Where the engine keeps its own small state on a host (persistent on OpenWrt's overlay too). */
export const STATE_DIR = "/etc/meshisp";
export const PENDING_HANDLERS = `${STATE_DIR}/pending-handlers`;

export const hostFacts = defineFact<HostFacts | { unsupported: string }>(
  "host",
  raw(
    [
      `if [ -f /etc/openwrt_release ]; then echo os=openwrt; elif [ -f /etc/debian_version ]; then echo os=debian; else echo "os=$(uname -s)"; fi`,
      `if [ -d /run/systemd/system ]; then echo init=systemd; else echo init=initd; fi`,
      `echo "arch=$(uname -m)"`,
      `echo "kernel=$(uname -r)"`,
      `echo "hostname=$(cat /proc/sys/kernel/hostname)"`,
      `[ -f ${PENDING_HANDLERS} ] && sed 's/^/pending=/' ${PENDING_HANDLERS}`,
      `true`,
    ].join("; "),
  ),
  ({ stdout }) => {
    const values = new Map<string, string[]>();
    for (const line of stdout.split("\n")) {
      const at = line.indexOf("=");
      if (at > 0) values.set(line.slice(0, at), [...(values.get(line.slice(0, at)) ?? []), line.slice(at + 1)]);
    }
    const one = (k: string) => values.get(k)?.[0] ?? "";
    const os = one("os");
    if (os !== "debian" && os !== "openwrt") return { unsupported: os || "unknown" };
    return {
      os,
      init: one("init") === "systemd" ? "systemd" : "initd",
      arch: one("arch"),
      kernel: one("kernel"),
      hostname: one("hostname"),
      pendingHandlers: [...new Set(values.get("pending") ?? [])].filter(Boolean),
    };
  },
);
