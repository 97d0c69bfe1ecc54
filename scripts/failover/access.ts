// What the failover test needs from the mesh, whichever it runs against (the lab or the live mesh).
import { spawn } from "node:child_process";

export interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

export interface UplinkInfo {
  name: string;
  meshIp: string;
  /** The hub's tunnel device to it (mu<n>). */
  dev: string;
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
  /** Kills the uplink's upstream from outside the uplink (never by setting its link down). */
  cut(name: string): Promise<void>;
  restore(name: string): Promise<void>;
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
