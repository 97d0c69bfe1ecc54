// The lab's public shapes: what a test asks for (LabSpec) and what it gets back (Lab, LabHost).
import type { OpenwrtRelease } from "./openwrt/release.ts";
import type { Result } from "./shell.ts";

export type { Result, OpenwrtRelease };
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
  /** The OpenWrt release an "openwrt" host imitates (default "24.10"); not allowed on other kinds. */
  release?: OpenwrtRelease;
  /** Inventory group: hub, relays, uplinks, clients, bench, ... */
  group: string;
  /** Put the host behind a home NAT gateway (LAN 192.168.H.0/24, the host at .2). */
  home?: LabHomeSpec;
  /** Root password (first-contact login) in addition to the lab's key; without it an "openwrt" host has OpenWrt's blank one. */
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
  /** The imitated OpenWrt release ("openwrt" hosts). */
  release?: OpenwrtRelease;
  group: string;
  /** Where the runner reaches it over SSH (the management bridge). */
  mgmtAddress: string;
  /** The address on the host's own WAN interface (203.0.113.x, or 192.168.H.2 behind a home gateway). */
  wanAddress: string;
  /** The address the internet sees: the gateway's for hosts behind NAT. */
  publicAddress: string;
  /** The LAN device's address (hosts with `lan`). */
  lanAddress?: string;
  /** PID (root namespace) of the host's init; a new one after each reboot. */
  readonly pid: number;
  /** Network namespace name (`ip netns exec <netns>`). */
  netns: string;
  /** Public host key, "ssh-ed25519 AAAA..." (a new one after a sysupgrade without kept settings). */
  readonly hostKey: string;
  /** Runs a shell command inside the host (nsenter into its namespaces and chroot, not SSH). */
  exec(cmd: string): Promise<Result>;
  /** Runs a shell command in one of the host's neighbouring namespaces. */
  execIn(ns: LabNamespace, cmd: string): Promise<Result>;
  /** Runs in the host's home gateway namespace (hosts behind NAT only). */
  execGateway(cmd: string): Promise<Result>;
  /** Runs in the device namespace on the host's LAN (hosts with `lan` only). */
  execLan(cmd: string): Promise<Result>;
  /**
   * A power cycle: every process ends, the network namespace forgets everything but the lab's own wiring (links,
   * addresses, routes, rules, nftables, qdiscs and sysctls the host made are gone), /tmp is empty, the flash (the
   * overlay's upper layer) stays; resolves once SSH answers again.
   */
  reboot(): Promise<LifecycleTiming>;
  /**
   * OpenWrt's sysupgrade to the same release ("openwrt" hosts): the in-host `sysupgrade -b` archive of what the real
   * one keeps (keepSettings, the default) or nothing (false, as `sysupgrade -n`), an empty flash, the archive
   * restored, a reboot (first boot runs /etc/uci-defaults, with the generated 10_disable_services).
   */
  sysupgrade(options?: { keepSettings?: boolean }): Promise<LifecycleTiming>;
}

export interface LifecycleTiming {
  /** From the call until SSH answered again. */
  ms: number;
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
