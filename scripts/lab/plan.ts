// The lab's address and naming plan, computed from a spec before anything is created (and checked: clear errors).
// Host i (0-based, in spec order): management 198.18.S.(10+i); internet address 203.0.113.(10+i), on the host itself
// or on its home gateway; a home LAN is 192.168.(10+i).0/24 with the gateway at .1 and the host at .2.
import { cidrWithin, isIpv4 } from "../../lib/pki/cidr.ts";
import { UserError } from "../../lib/errors.ts";
import { DEFAULT_OPENWRT_RELEASE, isOpenwrtRelease, OPENWRT_RELEASES, type OpenwrtRelease } from "./openwrt/release.ts";
import type { PilotHostPlan } from "./pilot/plan.ts";
import type { LabHostSpec } from "./types.ts";

const MAX_HOSTS = 245;
export const INTERNET_ROUTER = "203.0.113.1";
export const SERVICES_ROUTER = "198.51.100.1";
export const SERVICES_ADDRESS = "198.51.100.10";

/** What a host's plan holds in every topology. */
export interface HostPlanBase {
  index: number;
  spec: LabHostSpec;
  /** The release an "openwrt" host imitates (its image is <lab>/openwrt-image-<release>). */
  release?: OpenwrtRelease;
  netns: string;
  wanAddress: string;
  publicAddress: string;
  /** Interface names in the root or internet namespace (at most 15 characters). */
  links: { mgmt: string; wan: string; home: string; lan: string };
  /** The gateway in front of the host; `prefix` of its LAN (default 24: the pilot's Starlink CGNAT is a /10). */
  home?: { netns: string; gatewayLan: string; prefix?: number; blockUdpTo: string[]; symmetricNat: boolean };
  lan?: { netns: string; subnet: string; prefix: number; hostAddress: string; deviceAddress: string };
}

/** A host of the "internet" topology: reached over the management bridge. */
export interface HostPlan extends HostPlanBase {
  mgmtAddress: string;
}

/** A host of either topology (a pilot host's plan carries `pilot`). */
export type AnyHostPlan = HostPlan | PilotHostPlan;

const NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,30}$/;
/** Ranges a LAN behind a host may not take: the lab's own networks, the Nebula overlay, this machine's network. */
export const RESERVED: [string, number][] = [
  ["198.18.0.0", 15],
  ["203.0.113.0", 24],
  ["198.51.100.0", 24],
  ["192.168.0.0", 16],
  ["10.0.0.0", 16],
  ["192.0.2.0", 24],
  ["127.0.0.0", 8],
];

/** Two networks overlap when either lies inside the other. */
const overlaps = (a: string, pa: number, b: string, pb: number) =>
  cidrWithin(`${a}/${pa}`, `${b}/${pb}`) || cidrWithin(`${b}/${pb}`, `${a}/${pa}`);

/** Checks what every topology asks of a host spec (names, kinds, releases, groups); throws naming the host and field. */
export function checkHostSpecs(specs: LabHostSpec[]): void {
  if (!Array.isArray(specs) || specs.length === 0) throw new UserError("lab spec: `hosts` must list at least one host");
  if (specs.length > MAX_HOSTS)
    throw new UserError(`lab spec: at most ${MAX_HOSTS} hosts in one lab (asked for ${specs.length})`);
  const seen = new Set<string>();
  specs.forEach((s, i) => {
    const where = specWhere(specs, i);
    if (typeof s.name !== "string" || !NAME.test(s.name))
      throw new UserError(`${where}: name must be letters, digits and '-' (at most 31), got ${JSON.stringify(s.name)}`);
    if (seen.has(s.name)) throw new UserError(`${where}: the name ${s.name} is used twice`);
    seen.add(s.name);
    if (s.kind !== "openwrt" && s.kind !== "debian")
      throw new UserError(`${where}: kind must be "openwrt" or "debian", got ${JSON.stringify(s.kind)}`);
    if (s.release !== undefined && s.kind !== "openwrt")
      throw new UserError(`${where}: release is for "openwrt" hosts only (this one is ${JSON.stringify(s.kind)})`);
    if (s.release !== undefined && !isOpenwrtRelease(s.release))
      throw new UserError(
        `${where}: release must be one of ${OPENWRT_RELEASES.map((r) => JSON.stringify(r)).join(", ")} (the OpenWrt releases the lab imitates), got ${JSON.stringify(s.release)}`,
      );
    if (typeof s.group !== "string" || !/^[A-Za-z0-9_-]+$/.test(s.group))
      throw new UserError(
        `${where}: group must be a word such as hub, relays, uplinks, clients or bench, got ${JSON.stringify(s.group)}`,
      );
  });
}

export const specWhere = (specs: LabHostSpec[], i: number) =>
  `lab spec, host #${i + 1}${specs[i]?.name ? ` (${specs[i].name})` : ""}`;

/** The internet address of host i: on the host itself, or on the gateway in front of it. */
export const publicOf = (i: number) => `203.0.113.${10 + i}`;

/** home.blockUdpTo resolved to addresses: an IPv4 address as given, a lab host's name as that host's public address. */
export function blockUdpTargets(specs: LabHostSpec[], i: number): string[] {
  return (specs[i].home?.blockUdpTo ?? []).map((target) => {
    if (isIpv4(target)) return target;
    const other = specs.findIndex((o) => o.name === target);
    if (other < 0)
      throw new UserError(
        `${specWhere(specs, i)}: home.blockUdpTo entry ${JSON.stringify(target)} is neither an IPv4 address nor a lab host`,
      );
    return publicOf(other);
  });
}

/** A host's `lan` checked: a.b.c.0/16..24 clear of the ranges in `reserved`. */
export function planLanSubnet(
  subnet: unknown,
  where: string,
  reserved: [string, number][] = RESERVED,
): { subnet: string; prefix: number; base: string } {
  const m = /^(\d+\.\d+\.\d+)\.0\/(\d+)$/.exec(typeof subnet === "string" ? subnet : "");
  const prefix = Number(m?.[2]);
  if (!m || !isIpv4(`${m[1]}.0`) || prefix < 16 || prefix > 24)
    throw new UserError(
      `${where}: lan.subnet must look like 10.42.0.0/24 (a.b.c.0, prefix 16 to 24), got ${JSON.stringify(subnet)}`,
    );
  const clash = reserved.find(([net, bits]) => overlaps(`${m[1]}.0`, prefix, net, bits));
  if (clash)
    throw new UserError(
      `${where}: lan.subnet ${subnet} overlaps ${clash[0]}/${clash[1]}, which the lab or the mesh uses`,
    );
  return { subnet: subnet as string, prefix, base: m[1] };
}

export function planLab(runId: string, slot: number, specs: LabHostSpec[]): HostPlan[] {
  checkHostSpecs(specs);
  specs.forEach((s, i) => {
    if (s.site !== undefined || s.radioMbit !== undefined)
      throw new UserError(
        `${specWhere(specs, i)}: ${s.site !== undefined ? "site" : "radioMbit"} is for the pilot topology only (topology: "pilot", or --topology pilot)`,
      );
  });
  return specs.map((spec, i): HostPlan => {
    const homeLan = `192.168.${10 + i}`;
    const plan: HostPlan = {
      index: i,
      spec,
      ...(spec.kind === "openwrt" ? { release: spec.release ?? DEFAULT_OPENWRT_RELEASE } : {}),
      netns: `${runId}-${i}`,
      mgmtAddress: `198.18.${slot}.${10 + i}`,
      wanAddress: spec.home ? `${homeLan}.2` : publicOf(i),
      publicAddress: publicOf(i),
      links: { mgmt: `${runId}m${i}`, wan: `${runId}w${i}`, home: `${runId}h${i}`, lan: `${runId}l${i}` },
    };
    if (spec.home)
      plan.home = {
        netns: `${runId}-g${i}`,
        gatewayLan: `${homeLan}.1`,
        blockUdpTo: blockUdpTargets(specs, i),
        symmetricNat: !!spec.home.symmetricNat,
      };
    if (spec.lan) {
      const l = planLanSubnet(spec.lan.subnet, specWhere(specs, i));
      plan.lan = {
        netns: `${runId}-l${i}`,
        subnet: l.subnet,
        prefix: l.prefix,
        hostAddress: `${l.base}.1`,
        deviceAddress: `${l.base}.10`,
      };
    }
    return plan;
  });
}
