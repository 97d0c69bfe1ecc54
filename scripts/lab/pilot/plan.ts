// The pilot topology's address and naming plan (DESIGN.md "The pilot's network"), computed and checked before anything
// is created. Host i (0-based, in spec order):
//   public address 203.0.113.(10+i): on the host ("public") or on the gateway in front of it (a home's own router, or
//     the hub's Starlink);
//   a home's LAN 192.168.(10+i).0/24: the volunteer's router at .1, our router's wan0 at .2 ("home" and "remote");
//   the radio backhaul 10.44.0.0/24: the hub's access point at .1, a home's router at .(10+i);
//   a router's own LAN br-lan 192.168.8.1/24 in every home (GL.iNet's default), the installer's laptop at .100;
//   the kitchen LAN 10.42.0.0/24 (or the hub's lan.subnet): the hub .1, its LAN device .10, the kitchen laptop .20;
//   Starlink's carrier-grade NAT 100.64.0.0/10: its gateway 100.64.0.1, the hub's wan0 100.64.0.2.
import { UserError } from "../../../lib/errors.ts";
import { isMeshGroup, lowestFree } from "../../../lib/inventory/mesh-ip.ts";
import { DEFAULT_OPENWRT_RELEASE } from "../openwrt/release.ts";
import {
  blockUdpTargets,
  checkHostSpecs,
  planLanSubnet,
  publicOf,
  RESERVED,
  specWhere,
  type HostPlanBase,
} from "../plan.ts";
import type { LabHostSpec, PilotSite } from "../types.ts";

const PILOT_SITES: readonly PilotSite[] = ["kitchen", "home", "remote", "public"];
const KITCHEN_SUBNET = "10.42.0.0/24";
export const RADIO_SUBNET = "10.44.0.0/24";
export const RADIO_HUB = "10.44.0.1";
export const CGNAT = { subnet: "100.64.0.0/10", prefix: 10, gateway: "100.64.0.1", hub: "100.64.0.2" };
export const ROUTER_LAN = { subnet: "192.168.8.0/24", prefix: 24, router: "192.168.8.1", installer: "192.168.8.100" };
export const DEFAULT_RADIO_MBIT = 150;
/** The kitchen laptop's host number on the kitchen LAN (the LAN device is .10, as in the internet topology). */
const KITCHEN_LAPTOP_HOST = 20;
const MAX_RADIO_MBIT = 10_000;

/** Namespaces the pilot adds to the internet and services ones (names in the lab's run id). */
export interface PilotNames {
  internet: string;
  services: string;
  kitchen: string;
  radio: string;
  kitchenLaptop: string;
  installerLaptop: string;
  /** Every installer's laptop (LabSpec.installers), the first being installerLaptop. */
  installerLaptops: string[];
}

export const pilotNames = (runId: string, installers = 1): PilotNames => ({
  internet: `${runId}-inet`,
  services: `${runId}-svc`,
  kitchen: `${runId}-kit`,
  radio: `${runId}-rad`,
  kitchenLaptop: `${runId}-lapk`,
  installerLaptop: `${runId}-lapi`,
  installerLaptops: Array.from({ length: installers }, (_, k) => (k === 0 ? `${runId}-lapi` : `${runId}-lapi${k + 1}`)),
});

/** At most this many installers' laptops (LabSpec.installers): each takes a LAN port of its own on a router. */
export const MAX_INSTALLERS = 4;

/** Installer k's address while plugged in (0-based): the first 192.168.8.100, the next .101, ... */
export const installerAddress = (k: number): string => (k === 0 ? ROUTER_LAN.installer : `192.168.8.${100 + k}`);

export function checkInstallers(installers: unknown): number {
  if (installers === undefined) return 1;
  if (!(Number.isInteger(installers) && (installers as number) >= 1 && (installers as number) <= MAX_INSTALLERS))
    throw new UserError(
      `lab spec (topology pilot): installers must be a whole number from 1 to ${MAX_INSTALLERS} (installers' laptops, each at a home of its own), got ${JSON.stringify(installers)}`,
    );
  return installers as number;
}

/** The lab's wiring of one pilot host, beyond HostPlanBase's WAN, gateway and LAN device. */
interface PilotWiring {
  site: PilotSite;
  /**
   * The port on the radio bridge (in the radio namespace), its IFB for the upload direction, the rate. `assigned`: the
   * lab puts `address` on radio0 (the hub). A home router's radio0 comes up with no address (`assigned` false): UCI on
   * the router gives it one; `address` is then the one the home's link would take, which the lab's inventory lists for
   * a router written there (enrollment allocates its own for the others).
   */
  radio?: { address: string; prefix: 24; port: string; ifb: string; mbit?: number; assigned: boolean };
  /** A router's br-lan (openwrt hosts at home and remote sites). */
  routerLan?: { address: string; prefix: number; subnet: string };
  /** The kitchen host: its lan0's peer port on the kitchen bridge, the LAN device's port, the laptop's address. */
  kitchen?: { port: string; devicePort: string; laptopAddress: string; prefix: number; subnet: string };
  /** The port of the host's internet edge (its own wan0, or its gateway's) on the internet bridge: where a line is cut. */
  linePort: string;
  /** Its mesh IP in the written inventory (mesh groups, when listed there). */
  meshIp?: string;
}

export interface PilotHostPlan extends HostPlanBase {
  pilot: PilotWiring;
}

const defaultSite = (group: string): PilotSite =>
  group === "hub" ? "kitchen" : group === "uplinks" ? "home" : group === "relays" ? "public" : "remote";

/** Ranges the kitchen LAN may not take: the lab's, the mesh's, the radio's and Starlink's CGNAT. */
const PILOT_RESERVED: [string, number][] = [...RESERVED, ["10.44.0.0", 24], ["100.64.0.0", 10]];

export function planPilot(runId: string, specs: LabHostSpec[]): PilotHostPlan[] {
  checkHostSpecs(specs);
  const sites = specs.map((s, i) => {
    const where = specWhere(specs, i);
    if (!isMeshGroup(s.group))
      throw new UserError(
        `${where}: group must be hub, relays, uplinks or clients in the pilot topology (every host there is reached over the mesh), got ${JSON.stringify(s.group)}`,
      );
    if (s.site !== undefined && !PILOT_SITES.includes(s.site))
      throw new UserError(
        `${where}: site must be one of ${PILOT_SITES.map((x) => JSON.stringify(x)).join(", ")}, got ${JSON.stringify(s.site)}`,
      );
    return s.site ?? defaultSite(s.group);
  });
  const kitchens = sites.flatMap((site, i) => (site === "kitchen" ? [i] : []));
  if (kitchens.length !== 1)
    throw new UserError(
      `lab spec (topology pilot): exactly one host sits in the kitchen (the hub: group hub, or site "kitchen"), found ${kitchens.length}${kitchens.length ? `: ${kitchens.map((i) => specs[i].name).join(", ")}` : ""}`,
    );
  const meshIps = allocateMeshIps(specs);
  return specs.map((spec, i): PilotHostPlan => {
    const where = specWhere(specs, i);
    const site = sites[i];
    if (spec.radioMbit !== undefined && site !== "home")
      throw new UserError(
        `${where}: radioMbit is for hosts on the radio (site "home"); this one's site is ${JSON.stringify(site)}`,
      );
    if (
      spec.radioMbit !== undefined &&
      !(Number.isInteger(spec.radioMbit) && spec.radioMbit >= 1 && spec.radioMbit <= MAX_RADIO_MBIT)
    )
      throw new UserError(
        `${where}: radioMbit must be a whole number of Mbit/s from 1 to ${MAX_RADIO_MBIT}, got ${JSON.stringify(spec.radioMbit)}`,
      );
    if (spec.lan && site !== "kitchen")
      throw new UserError(
        `${where}: lan is for the kitchen host in the pilot topology (a router's own LAN is br-lan ${ROUTER_LAN.subnet}, made by the lab)`,
      );
    if (spec.home && (site === "kitchen" || site === "public"))
      throw new UserError(
        `${where}: home is for hosts at a home (site "home" or "remote"); this one's site is ${JSON.stringify(site)}`,
      );
    const homeLan = `192.168.${10 + i}`;
    const plan: PilotHostPlan = {
      index: i,
      spec,
      ...(spec.kind === "openwrt" ? { release: spec.release ?? DEFAULT_OPENWRT_RELEASE } : {}),
      netns: `${runId}-${i}`,
      wanAddress: site === "kitchen" ? CGNAT.hub : site === "public" ? publicOf(i) : `${homeLan}.2`,
      publicAddress: publicOf(i),
      links: { mgmt: "", wan: `w${i}`, home: "lan0", lan: `l${i}` },
      pilot: { site, linePort: `w${i}`, ...(meshIps[i] ? { meshIp: meshIps[i] } : {}) },
    };
    if (site === "kitchen")
      plan.home = {
        netns: `${runId}-sl`,
        gatewayLan: CGNAT.gateway,
        prefix: CGNAT.prefix,
        blockUdpTo: [],
        symmetricNat: false,
      };
    if (site === "home" || site === "remote")
      plan.home = {
        netns: `${runId}-g${i}`,
        gatewayLan: `${homeLan}.1`,
        blockUdpTo: blockUdpTargets(specs, i),
        symmetricNat: !!spec.home?.symmetricNat,
      };
    if (site === "kitchen") {
      const l = planLanSubnet(spec.lan?.subnet ?? KITCHEN_SUBNET, where, PILOT_RESERVED);
      plan.lan = {
        netns: `${runId}-l${i}`,
        subnet: l.subnet,
        prefix: l.prefix,
        hostAddress: `${l.base}.1`,
        deviceAddress: `${l.base}.10`,
      };
      plan.pilot.kitchen = {
        port: `k${i}`,
        devicePort: `d${i}`,
        laptopAddress: `${l.base}.${KITCHEN_LAPTOP_HOST}`,
        prefix: l.prefix,
        subnet: l.subnet,
      };
      plan.pilot.radio = { address: RADIO_HUB, prefix: 24, port: `r${i}`, ifb: `rb${i}`, assigned: true };
    }
    if (site === "home")
      plan.pilot.radio = {
        address: `10.44.0.${10 + i}`,
        prefix: 24,
        port: `r${i}`,
        ifb: `rb${i}`,
        mbit: spec.radioMbit ?? DEFAULT_RADIO_MBIT,
        assigned: false,
      };
    if (spec.kind === "openwrt" && (site === "home" || site === "remote"))
      plan.pilot.routerLan = { address: ROUTER_LAN.router, prefix: ROUTER_LAN.prefix, subnet: ROUTER_LAN.subnet };
    return plan;
  });
}

/** Mesh IPs as enrollment hands them out: per mesh group, the lowest free address of its range, in spec order. */
function allocateMeshIps(specs: LabHostSpec[]): (string | undefined)[] {
  const taken = new Set<string>();
  return specs.map((s) => {
    if (s.notInInventory || !isMeshGroup(s.group)) return undefined;
    const ip = lowestFree(s.group, taken);
    if (ip) taken.add(ip);
    return ip;
  });
}
