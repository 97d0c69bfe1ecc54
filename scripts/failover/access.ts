// What the failover test needs from the mesh, whichever it runs against (the lab or the live mesh).
import { spawn } from "node:child_process";

export interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * How an uplink dies. "line": its home's internet line (the volunteer's router's WAN, or the ISP behind it); the tunnel
 * to the hub stays up and the checker's probes through it go unanswered. "radio": its radio link to the kitchen (the
 * NanoStation loses its link): the Nebula tunnel to the hub dies with it. A remote uplink (no radio) has only "line".
 */
export type CutKind = "line" | "radio";
export const CUT_KINDS: readonly CutKind[] = ["line", "radio"];

export interface UplinkInfo {
  name: string;
  meshIp: string;
  /** The hub's tunnel device to it (mu<n>). */
  dev: string;
  /** The ways this uplink can be cut: "line" always; "radio" when it sits on the radio backhaul (radio_device). */
  cuts: CutKind[];
}

export interface FailoverAccess {
  /** "lab mlab12" or "live mesh (inventory/pilot/hosts.yml)". */
  describe: string;
  uplinks: UplinkInfo[];
  /** The hub's routing table of the community's traffic (routing_table). */
  table: number;
  /** The hub has a backup tier configured (routing_backup). */
  hasBackup: boolean;
  /** Address the LAN device pings (ICMP follows one uplink: its loss shows the switch). */
  pingTarget: string;
  /** URL the LAN device fetches: each fetch is a new connection, hashed onto any live uplink. */
  url: string;
  /** Runs sh on a device on the hub's LAN. */
  lan(cmd: string): Promise<Output>;
  /** Runs sh on the hub (its network, at least: ip, curl). */
  hub(cmd: string): Promise<Output>;
  /** Connections (NAT entries) the uplink has carried for the mesh so far, from its masquerade counter. */
  uplinkFlows(name: string): Promise<number>;
  /** Packets the hub sent out of its backup tier so far (new connections), from its masquerade counter. */
  backupFlows(): Promise<number>;
  /**
   * Kills the uplink's line or radio link (never by setting a link down: a real failure keeps the carrier); resolves
   * once the cut is in effect. Only kinds listed in the uplink's `cuts`.
   */
  cut(name: string, kind: CutKind): Promise<void>;
  /** Undoes that cut; resolves once it is undone. */
  restore(name: string, kind: CutKind): Promise<void>;
  /** Undoes every cut and stops whatever the test started. Safe to call twice. */
  close(): Promise<void>;
}

/** "packets 12 bytes 3400" in `nft list` output, the first counter after `marker`. */
export function counterAfter(text: string, marker: RegExp): number {
  for (const line of text.split("\n")) {
    if (!marker.test(line)) continue;
    const m = /counter packets (\d+)/.exec(line);
    if (m) return Number(m[1]);
  }
  return 0;
}

/** Runs a program on this machine and collects its output; it is killed after `timeoutMs`. */
export function runLocal(argv: string[], timeoutMs = 60_000): Promise<Output> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}
