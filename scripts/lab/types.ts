// The lab's public shapes: what a test asks for (LabSpec) and what it gets back (Lab, LabHost).
import type { Result } from "./shell.ts";

export type { Result };
export type LabHostKind = "openwrt" | "debian";

export interface LabHomeSpec {
  /** Drop UDP the gateway forwards to these addresses (IPv4, or the name of another lab host: its public address). */
  blockUdpTo?: string[];
  /** Random source port for every new flow (symmetric NAT): hole punching fails, a relay is needed. */
  symmetricNat?: boolean;
}

export interface LabHostSpec {
  /** Host name: letters, digits and '-', at most 31 characters. */
  name: string;
  kind: LabHostKind;
  /** Inventory group: hub, relays, uplinks, clients, bench, ... */
  group: string;
  /** Put the host behind a home NAT gateway (LAN 192.168.H.0/24, the host at .2). */
  home?: LabHomeSpec;
  /** Root password (first-contact login) in addition to the lab's key. */
  password?: string;
  /** A LAN behind this host (a /24): the host at .1, one device namespace at .10 routed through the host. */
  lan?: { subnet: string };
  vars?: Record<string, unknown>;
  /** Leave the host out of the written inventory (enrollment adds it). */
  notInInventory?: boolean;
}

export interface LabSpec {
  hosts: LabHostSpec[];
  /** Names every namespace, link and directory of this lab; default: "ml" + 4 random hex digits. */
  runId?: string;
}

/** The namespaces a test can act in besides the host itself. */
export type LabNamespace = "gateway" | "lan" | "internet" | "services";

export interface LabHost {
  name: string;
  kind: LabHostKind;
  group: string;
  /** Where the runner reaches it over SSH (the management bridge). */
  mgmtAddress: string;
  /** The address on the host's own WAN interface (203.0.113.x, or 192.168.H.2 behind a home gateway). */
  wanAddress: string;
  /** The address the internet sees: the gateway's for hosts behind NAT. */
  publicAddress: string;
  /** The LAN device's address (hosts with `lan`). */
  lanAddress?: string;
  /** PID (root namespace) of the host's init. */
  pid: number;
  /** Network namespace name (`ip netns exec <netns>`). */
  netns: string;
  /** Public host key, "ssh-ed25519 AAAA...". */
  hostKey: string;
  /** Runs a shell command inside the host (nsenter into its namespaces and chroot, not SSH). */
  exec(cmd: string): Promise<Result>;
  /** Runs a shell command in one of the host's neighbouring namespaces. */
  execIn(ns: LabNamespace, cmd: string): Promise<Result>;
  /** Runs in the host's home gateway namespace (hosts behind NAT only). */
  execGateway(cmd: string): Promise<Result>;
  /** Runs in the device namespace on the host's LAN (hosts with `lan` only). */
  execLan(cmd: string): Promise<Result>;
}

export interface Lab {
  runId: string;
  /** .lab/<runId> (absolute). */
  dir: string;
  /** Management slot S: the bridge is 198.18.S.1/24. */
  slot: number;
  inventoryPath: string;
  /** Absent until the runner pins keys on first contact. */
  knownHostsPath: string;
  sshKeyPath: string;
  hosts: LabHost[];
  host(name: string): LabHost;
  /** The internet router namespace (203.0.113.1, 198.51.100.1). */
  internet: { exec(cmd: string): Promise<Result>; netns: string };
  /** The internet services namespace (198.51.100.10): ping target, iperf3 server, download source. */
  services: { exec(cmd: string): Promise<Result>; address: string; netns: string };
  down(): Promise<void>;
}
