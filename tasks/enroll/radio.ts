// The router's port to the home's NanoStation (the radio backhaul to the kitchen): which device it is, and the address
// it gets on the hub's radio subnet. On a real router nobody has given that port an address: enrollment picks the
// device (--radio-port, or the one port with carrier that no network interface and no bridge uses), allocates the next
// free address of the hub's radio_subnet under the inventory's lock (never one another node has), and writes them as
// the node's radio vars; the radio-port role (roles/radio) then configures it the OpenWrt way (UCI, netifd). With them
// the nebula role has the router dial the hub's radio address, so the tunnel rides the radio and the community's bytes
// cross the volunteer's line once; without them the tunnel goes over the internet (through the relay when the hub has
// no public address).
import { readFileSync } from "node:fs";
import { isMap, parseDocument } from "yaml";
import { defineFact } from "../../lib/facts/fact.ts";
import { raw } from "../../lib/command.ts";
import { UserError } from "../../lib/errors.ts";
import { addMeshHost, saveInventoryDocument } from "../../lib/inventory/edit.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import type { Inventory } from "../../lib/inventory/types.ts";
import { withLock } from "../../lib/lock.ts";
import { ipToUint, isIpv4, parseCidr, uintToIp } from "../../lib/pki/cidr.ts";
import { parseUciValues } from "../../lib/resources/uci.ts";

export interface RouterAddress {
  device: string;
  /** "10.44.0.12/24", as `ip -4 addr show` prints it. */
  cidr: string;
}

export interface RadioVars {
  radio_address: string;
  radio_subnet: string;
  radio_device: string;
}

/** `ip -4 addr show` (BusyBox's or iproute2's): each "inet A/B ... DEV" line, the device being the line's last word. */
export function parseAddresses(text: string): RouterAddress[] {
  return text.split("\n").flatMap((line) => {
    const words = line.trim().split(/\s+/);
    if (words[0] !== "inet" || !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(words[1] ?? "")) return [];
    return [{ device: words[words.length - 1], cidr: words[1] }];
  });
}

/** One network device of the router as the kernel has it (/sys/class/net), and whether UCI uses it. */
export interface RouterPort {
  device: string;
  /** bridge, a bridge's member, a tun (Nebula), another virtual kind (DEVTYPE: vxlan, vlan, wlan, ...), or a port. */
  kind: "port" | "bridge" | "member" | "tun" | "virtual";
  /** 1 with a link, 0 without, null when the device is down (the kernel reports no carrier then). */
  carrier: 0 | 1 | null;
  /** Named by an interface (device/ifname) or a bridge's ports in /etc/config/network. */
  inUci: boolean;
}

/** Devices that are never the radio port whatever they look like: the loopback, and shaping's IFBs. */
const NEVER = (device: string) => device === "lo" || device.startsWith("ifb");

/**
 * The probe: each device's kind and carrier from /sys (BusyBox ash, no stat), then the devices UCI's network config
 * names (interfaces' device/ifname, bridge devices' ports), from `uci show`. A router without uci gives only the first.
 */
export const radioPortsFact = defineFact(
  "enroll:ports",
  raw(
    [
      `for d in /sys/class/net/*; do n=\${d##*/}; k=port; t=$(sed -n 's/^DEVTYPE=//p' "$d/uevent" 2>/dev/null)`,
      `[ -n "$t" ] && k=virtual; [ -e "$d/tun_flags" ] && k=tun; [ -d "$d/bridge" ] && k=bridge; [ -e "$d/brport" ] && k=member`,
      `echo "dev $n $k $(cat "$d/carrier" 2>/dev/null || echo -)"; done`,
      `uci -q show network 2>/dev/null | sed -n 's/^network\\.[^.]*\\.\\(device\\|ifname\\|ports\\)=/uci /p'`,
    ].join("\n"),
  ),
  ({ stdout }) => parsePorts(stdout),
);

/** What the probe printed, as ports. Exported for the table-driven tests. */
export function parsePorts(stdout: string): RouterPort[] {
  const named = new Set<string>();
  const ports: RouterPort[] = [];
  for (const line of stdout.split("\n")) {
    if (line.startsWith("uci ")) for (const v of parseUciValues(line.slice(4))) named.add(v);
    const m = /^dev (\S+) (port|bridge|member|tun|virtual) (\S+)$/.exec(line);
    if (m)
      ports.push({
        device: m[1],
        kind: m[2] as RouterPort["kind"],
        carrier: m[3] === "1" ? 1 : m[3] === "0" ? 0 : null,
        inUci: false,
      });
  }
  return ports.map((p) => ({ ...p, inUci: named.has(p.device) }));
}

/** Ports that could be the radio's: a plain port, in no network interface and no bridge, not the loopback or an IFB. */
export const freePorts = (ports: readonly RouterPort[]): RouterPort[] =>
  ports.filter((p) => p.kind === "port" && !p.inUci && !NEVER(p.device));

export interface RadioChoice {
  /** --radio-port DEVICE */
  port?: string;
  /** --no-radio: a router with no radio (its tunnel goes over the internet). */
  none?: boolean;
}

export interface RadioPortDecision {
  device: string | null;
  /** What the installer is told. */
  why: string;
}

/**
 * Which device is the radio port: the flag's, else the one the inventory has for this node (a re-run), else the one free
 * port with carrier. Refuses an unknown device, two candidates, or a hub without radio_subnet when a port is asked for.
 */
export function decideRadioPort(input: {
  ports: readonly RouterPort[];
  choice: RadioChoice;
  hubSubnet: unknown;
  known?: Record<string, unknown>;
}): RadioPortDecision {
  const { ports, choice, known } = input;
  const hubSubnet = typeof input.hubSubnet === "string" && input.hubSubnet.includes("/") ? input.hubSubnet : null;
  if (choice.port !== undefined && !choice.port)
    throw new UserError("--radio-port needs a device name, such as lan4 or eth1");
  if (choice.port && choice.none) throw new UserError("--radio-port and --no-radio contradict each other: give one");
  if (choice.none) return { device: null, why: "--no-radio: this router's tunnel goes over the internet." };
  if (choice.port) {
    if (!hubSubnet)
      throw new UserError(
        `--radio-port ${choice.port}: the inventory's hub has no radio_subnet (the kitchen's radio, such as 10.44.0.0/24)`,
        "add radio_subnet and radio_address to the hub's vars, or enroll without --radio-port",
      );
    const found = ports.find((p) => p.device === choice.port);
    if (!found)
      throw new UserError(
        `--radio-port ${choice.port}: the router has no such device (it has ${ports.map((p) => p.device).join(", ") || "none"})`,
      );
    if (found.kind !== "port")
      throw new UserError(
        `--radio-port ${choice.port}: that is a ${found.kind === "member" ? "bridge's member (e.g. of br-lan)" : found.kind}, not a free port: take the NanoStation's port out of br-lan first (LuCI: Network > Interfaces > Devices), or name another port`,
      );
    return { device: found.device, why: `--radio-port ${found.device}.` };
  }
  if (!hubSubnet)
    return {
      device: null,
      why: "The hub has no radio (no radio_subnet): this router's tunnel goes over the internet.",
    };
  const knownDevice = known?.radio_device;
  if (typeof knownDevice === "string" && knownDevice)
    return { device: knownDevice, why: `${knownDevice}, as the inventory has it for this node.` };
  const free = freePorts(ports);
  const live = free.filter((p) => p.carrier === 1);
  if (live.length > 1)
    throw new UserError(
      `more than one port could be the radio's: ${live.map((p) => p.device).join(", ")} (each with carrier, in no network interface of /etc/config/network and no bridge)`,
      "say which one is cabled to the NanoStation with --radio-port <device>, or --no-radio for a router with no radio",
    );
  if (live.length === 1)
    return {
      device: live[0].device,
      why: `${live[0].device} is the only free port with carrier (cabled to the NanoStation).`,
    };
  const dark = free.filter((p) => p.carrier !== 1).map((p) => p.device);
  return {
    device: null,
    why: `No free port with carrier${dark.length ? ` (${dark.join(", ")} free but without carrier or down: if the NanoStation is cabled there, give --radio-port)` : ""}: this router's tunnel goes over the internet.`,
  };
}

/** The lowest host address of `subnet` no node of the inventory has as radio_address (the hub's included), or null. */
export function freeRadioAddress(inventory: Inventory, subnet: string, self?: string): string | null {
  const net = parseCidr(subnet, "the hub's radio_subnet");
  const base = (net.ip & net.mask) >>> 0;
  const size = 2 ** (32 - net.bits);
  const taken = new Set(
    inventory.hosts
      .filter((h) => h.name !== self)
      .map((h) => h.vars.radio_address)
      .filter((a): a is string => typeof a === "string"),
  );
  for (let i = 1; i < size - 1; i++) {
    const ip = uintToIp(base + i);
    if (!taken.has(ip)) return ip;
  }
  return null;
}

/**
 * The node's radio vars in `inventory`: the address it already has there when that is still in the subnet and no
 * other node's, else the next free one. Called under the inventory's lock (addMeshHost's, or syncRadioVars').
 */
function radioVarsIn(inventory: Inventory, name: string, device: string): RadioVars {
  const hub = inventory.hosts.find((h) => h.group === "hub");
  const subnet = hub?.vars.radio_subnet;
  if (typeof subnet !== "string")
    throw new UserError(
      `${inventory.file}: the hub has no radio_subnet, so ${name}'s radio port ${device} gets no address`,
    );
  const own = inventory.hosts.find((h) => h.name === name)?.vars.radio_address;
  const others = new Set(inventory.hosts.filter((h) => h.name !== name).map((h) => h.vars.radio_address));
  const net = parseCidr(subnet, `${inventory.file}: the hub's radio_subnet`);
  const keeps =
    typeof own === "string" &&
    isIpv4(own) &&
    !others.has(own) &&
    (ipToUint(own) & net.mask) >>> 0 === (net.ip & net.mask) >>> 0;
  const address = keeps ? own : freeRadioAddress(inventory, subnet, name);
  if (!address)
    throw new UserError(
      `${inventory.file}: the hub's radio_subnet ${subnet} has no free address left for ${name}`,
      "use a larger radio_subnet on the hub",
    );
  return { radio_address: address, radio_subnet: subnet, radio_device: device };
}

const RADIO_KEYS = ["radio_address", "radio_subnet", "radio_device"] as const;

/**
 * A node enrolled before: its radio vars made to match the decision (set, changed or removed), under the inventory's
 * lock. Returns the vars it has now (null: none).
 */
export async function syncRadioVars(file: string, name: string, device: string | null): Promise<RadioVars | null> {
  return withLock(`${file}.lock`, () => {
    const inventory = loadInventory(file);
    const host = inventory.hosts.find((h) => h.name === name);
    if (!host) throw new UserError(`no host ${name} in ${file}`);
    const want = device ? radioVarsIn(inventory, name, device) : null;
    const have = RADIO_KEYS.map((k) => host.vars[k]);
    if (
      JSON.stringify(have) === JSON.stringify(want ? RADIO_KEYS.map((k) => want[k]) : [undefined, undefined, undefined])
    )
      return want;
    const doc = parseDocument(readFileSync(file, "utf8"));
    const path = ["groups", host.group, "hosts", name, "vars"];
    if (!isMap(doc.getIn(path))) doc.setIn(path, doc.createNode({}));
    for (const k of RADIO_KEYS) {
      if (want) doc.setIn([...path, k], want[k]);
      else doc.deleteIn([...path, k]);
    }
    saveInventoryDocument(file, doc);
    return want;
  });
}

/** addMeshHost for a router, its radio vars allocated under the same lock as its mesh IP. */
export const addUplinkWithRadio = (
  file: string,
  name: string,
  fields: { port?: number; os: string; vars: Record<string, unknown> },
  device: string | null,
) =>
  addMeshHost(file, "uplinks", name, (before) => ({
    ...fields,
    vars: { ...fields.vars, ...(device ? radioVarsIn(before, name, device) : {}) },
  }));
