// The lab's public shapes: what a test asks for (LabSpec) and what it gets back (Lab, LabHost).
import type { OpenwrtRelease } from "./openwrt/release.ts";
import type { Result } from "./shell.ts";

export type { OpenwrtRelease };
export type LabHostKind = "openwrt" | "debian";

/**
 * "internet": every host on one simulated internet, reached over a management bridge in the root namespace.
 * "pilot": the pilot's real network (DESIGN.md "The pilot's network"): the kitchen LAN with the hub behind
 * Starlink-like CGNAT, a radio backhaul to the homes, routers behind volunteers' routers at 192.168.8.1, a remote
 * uplink and a relay on the internet; no management network: the runner runs in a laptop namespace (PilotLab.laptop).
 */
type LabTopology = "internet" | "pilot";

/**
 * Where a host sits in the pilot topology. Default by group: hub -> "kitchen", uplinks -> "home", relays ->
 * "public", anything else -> "remote".
 * - "kitchen": the hub (exactly one): kitchen LAN 10.42.0.1 (lan0), radio0 10.44.0.1 (the access point), wan0 in
 *   carrier-grade NAT 100.64.0.2 behind the "starlink" namespace (outbound only).
 * - "home": behind the volunteer's own router (NAT, 192.168.H.2 on its LAN), radio0 on the backhaul, up with no address
 *   (as on a real router) until the radio-port role gives it one through UCI.
 * - "remote": behind a home router, no radio: reached only over the internet.
 * - "public": on the internet itself (203.0.113.(10+i)), e.g. a rented relay.
 * An "openwrt" host at a home or remote site is a GL.iNet-like router: its own LAN br-lan 192.168.8.1/24.
 */
export type PilotSite = "kitchen" | "home" | "remote" | "public";

interface LabHomeSpec {
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
  /** Pilot topology only: where the host sits (see PilotSite; default from its group). */
  site?: PilotSite;
  /** Pilot topology only, "home" sites: the radio link's rate in Mbit/s, each direction (default 150). */
  radioMbit?: number;
}

export interface LabSpec {
  hosts: LabHostSpec[];
  /** Default "internet" (the old flat topology); "pilot" is the pilot's network. */
  topology?: LabTopology;
  /** Names every namespace, link and directory of this lab; default: "ml" + 4 random hex digits. */
  runId?: string;
  /**
   * Pilot topology only: how many installers' laptops (default 1, at most 4), for installers at several homes at once:
   * `lab.installers[k]`, `lab.laptop("installer-2")`; the first is `lab.installer`.
   */
  installers?: number;
}

/** The namespaces a test can act in besides the host itself. */
export type LabNamespace = "gateway" | "lan" | "internet" | "services";

/** What every lab host has, whatever the topology. */
export interface LabHostBase {
  name: string;
  kind: LabHostKind;
  /** The imitated OpenWrt release ("openwrt" hosts). */
  release?: OpenwrtRelease;
  group: string;
  /** The address on the host's own WAN interface (203.0.113.x, 192.168.H.2 behind a home gateway, 100.64.0.2 behind Starlink). */
  wanAddress: string;
  /** The address the internet sees: the gateway's for hosts behind NAT (Starlink's for the pilot's hub). */
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
  /** Runs in the host's home gateway namespace (hosts behind NAT only; the pilot hub's: the starlink namespace). */
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

/** A host of the "internet" topology. */
export interface InternetLabHost extends LabHostBase {
  /** Where the runner reaches it over SSH (the management bridge, in the root namespace). */
  mgmtAddress: string;
}

/** A host of the "pilot" topology: no management address; reach it as a person would (PilotLab.laptop). */
export interface PilotLabHost extends LabHostBase {
  site: PilotSite;
  /** Its mesh IP as the lab's inventory allocates it (mesh groups only; absent for hosts left out of the inventory). */
  meshIp?: string;
  /**
   * Its address on the radio backhaul (radio0): the hub's 10.44.0.1, set by the lab; for a home's router 10.44.0.(10+i),
   * what the lab's inventory lists for it (the radio-port role sets it; enrollment allocates its own: read the inventory).
   */
  radioAddress?: string;
  /** The radio link's rate in Mbit/s, each direction (home sites). */
  radioMbit?: number;
  /** A router's own LAN address (br-lan, "openwrt" hosts at home or remote sites): 192.168.8.1 in every home. */
  routerLanAddress?: string;
  /**
   * Failover hooks. The home's line: every packet through the volunteer router's WAN (the gateway namespace's wan0)
   * dropped in the simulated internet, as when the home's ISP fails; the router's own links stay up. Hosts behind
   * a gateway only (for the hub: its Starlink).
   */
  cutLine(): Promise<void>;
  restoreLine(): Promise<void>;
  /**
   * The radio link (home sites and the hub): every frame to or from this host's port dropped on the radio segment
   * (a bridge filter in the radio namespace), as when the NanoStation loses its link: radio0 keeps its carrier, as the
   * router's cable to the NanoStation does. Cutting the hub's port cuts every home at once.
   */
  cutRadio(): Promise<void>;
  restoreRadio(): Promise<void>;
}

/** The "internet" topology's host by default: `LabHost<"pilot">` for the pilot's. */
export type LabHost<T extends LabTopology = "internet"> = T extends "pilot" ? PilotLabHost : InternetLabHost;

interface LifecycleTiming {
  /** From the call until SSH answered again. */
  ms: number;
}

/** What every lab has, whatever the topology. */
interface LabBase<H> {
  runId: string;
  /** .lab/<runId> (absolute). */
  dir: string;
  inventoryPath: string;
  /** Absent until the runner pins keys on first contact. */
  knownHostsPath: string;
  sshKeyPath: string;
  hosts: H[];
  host(name: string): H;
  /** The internet router namespace (203.0.113.1, 198.51.100.1). */
  internet: { exec(cmd: string): Promise<Result>; netns: string };
  /** The internet services namespace (198.51.100.10): ping target, iperf3 server, download source. */
  services: { exec(cmd: string): Promise<Result>; address: string; netns: string };
  down(): Promise<void>;
}

export interface InternetLab extends LabBase<InternetLabHost> {
  topology: "internet";
  /** Management slot S: the bridge is 198.18.S.1/24. */
  slot: number;
}

/** A person's laptop: a network namespace of its own where the runner (and `ip netns exec <netns> npx tsx ...`) runs. */
export interface LabLaptop {
  netns: string;
  /** Its address (the kitchen laptop 10.42.0.20; the installer's 192.168.8.100 while plugged in). */
  address: string;
  /** Runs a shell command in the laptop's namespace (this machine's filesystem, as `ip netns exec`). */
  exec(cmd: string): Promise<Result>;
  /**
   * A TCP connection opened from inside the laptop's namespace (for SessionOptions.dial): a real socket, made by a
   * connector process started there and handed over; rejects when the connection is refused, unreachable or not
   * established within timeoutMs (default 10 s).
   */
  dial(host: string, port: number, options?: { timeoutMs?: number }): Promise<import("node:stream").Duplex>;
}

/** An installer's laptop: on no network until plugged into one router's LAN (br-lan), at most one at a time. */
export type PilotInstaller = LabLaptop & {
  /**
   * Unplugs from any other router first; the laptop gets 192.168.8.100/24 (the second installer .101, ...), default
   * route via 192.168.8.1. A host at a home with no br-lan (a member's machine, at 192.168.H.2): the laptop joins that
   * home's LAN instead, at 192.168.H.100 (.101, ...), default route via the home's router (pilot/home-lan.ts).
   */
  plugInto(hostName: string): Promise<void>;
  unplug(): Promise<void>;
  /** The router it is plugged into, if any. */
  readonly pluggedInto: string | undefined;
};

export interface PilotLab extends LabBase<PilotLabHost> {
  topology: "pilot";
  /**
   * The maintainer's laptop on the kitchen LAN (10.42.0.20, default route via the hub), or an installer's: "installer"
   * (the first), "installer-2" ... (LabSpec.installers).
   */
  laptop(which: "kitchen" | "installer" | `installer-${number}`): LabLaptop;
  /** The (first) installer's laptop. */
  installer: PilotInstaller;
  /** Every installer's laptop (LabSpec.installers; default one), the first being `installer`. */
  installers: PilotInstaller[];
  /** The radio segment's namespace (a bridge, one port per link, the rates on them). */
  radio: { exec(cmd: string): Promise<Result>; netns: string };
  /** The kitchen LAN's namespace (a bridge: the hub, its LAN device, the kitchen laptop). */
  kitchen: { exec(cmd: string): Promise<Result>; netns: string };
}

/** The "internet" topology's lab by default: `Lab<"pilot">` for the pilot's. */
export type Lab<T extends LabTopology = "internet"> = T extends "pilot" ? PilotLab : InternetLab;
