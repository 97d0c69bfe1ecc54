// The VXLAN tunnel between the hub and one uplink across the overlay: its numbers, and the plan that makes a host's
// tunnel what it should be (reading `ip -j -d link show` and `ip -j addr show`, never re-applying blindly).
import { sh, type Command } from "../../lib/command.ts";
import { UserError } from "../../lib/errors.ts";
import type { LinkState } from "./ip-facts.ts";

export interface TunnelSpec {
  dev: string;
  /** VXLAN network identifier: the low 16 bits of the uplink's mesh IP, unique in the overlay's /16. */
  vni: number;
  local: string;
  remote: string;
  port: number;
  mtu: number;
  /** This side's address, "a.b.c.d/31". */
  address: string;
  /** The other side's address (the next hop through this tunnel). */
  peer: string;
}

/** The last octet n of an uplink's mesh IP (10.0.4.n) and its VNI. */
export function uplinkNumber(meshIp: string): { n: number; vni: number } {
  const o = meshIp.split(".").map(Number);
  if (o.length !== 4 || o.some((x) => !Number.isInteger(x) || x < 0 || x > 255))
    throw new UserError(`uplink mesh IP ${JSON.stringify(meshIp)} is not an IPv4 address`);
  if (o[3] > 127)
    throw new UserError(
      `uplink mesh IP ${meshIp}: the tunnel plan gives /31s to last octets up to 127 (uplinks are 10.0.4.64/26)`,
    );
  return { n: o[3], vni: o[2] * 256 + o[3] };
}

export interface TunnelVars {
  routing_transfer_prefix: string;
  routing_vxlan_port: number;
  routing_tunnel_mtu: number;
  routing_uplink_tunnel: string;
}

/** Both ends of the tunnel to the uplink at `uplinkIp`: the hub's (mu<n>) and the uplink's. */
export function tunnelPair(hubIp: string, uplinkIp: string, v: TunnelVars): { hub: TunnelSpec; uplink: TunnelSpec } {
  const { n, vni } = uplinkNumber(uplinkIp);
  const hubAddr = `${v.routing_transfer_prefix}.${2 * n}`;
  const upAddr = `${v.routing_transfer_prefix}.${2 * n + 1}`;
  const common = { vni, port: v.routing_vxlan_port, mtu: v.routing_tunnel_mtu };
  return {
    hub: { ...common, dev: `mu${n}`, local: hubIp, remote: uplinkIp, address: `${hubAddr}/31`, peer: upAddr },
    uplink: {
      ...common,
      dev: v.routing_uplink_tunnel,
      local: uplinkIp,
      remote: hubIp,
      address: `${upAddr}/31`,
      peer: hubAddr,
    },
  };
}

const create = (t: TunnelSpec): Command[] => [
  sh`ip link add ${t.dev} type vxlan id ${t.vni} local ${t.local} remote ${t.remote} dstport ${t.port}`,
  sh`ip link set ${t.dev} mtu ${t.mtu}`,
  sh`ip addr add ${t.address} dev ${t.dev}`,
  sh`ip link set ${t.dev} up`,
];

/** Commands that make the tunnel as asked: none when it already is; a changed VXLAN identity means delete and re-create. */
export function planTunnel(
  t: TunnelSpec,
  links: Map<string, LinkState>,
  addresses: Map<string, string[]>,
): { commands: Command[]; summary: string } | null {
  const link = links.get(t.dev);
  if (!link) return { commands: create(t), summary: "create" };
  const x = link.vxlan;
  if (
    link.kind !== "vxlan" ||
    !x ||
    x.id !== t.vni ||
    x.local !== t.local ||
    x.remote !== t.remote ||
    x.port !== t.port
  ) {
    return {
      commands: [sh`ip link del ${t.dev}`, ...create(t)],
      summary: link.kind !== "vxlan" ? `replace a ${link.kind ?? "plain"} link` : "re-create with new endpoints",
    };
  }
  const commands: Command[] = [];
  const changes: string[] = [];
  if (link.mtu !== t.mtu) {
    commands.push(sh`ip link set ${t.dev} mtu ${t.mtu}`);
    changes.push(`mtu ${link.mtu} -> ${t.mtu}`);
  }
  const have = addresses.get(t.dev) ?? [];
  for (const extra of have.filter((a) => a !== t.address)) {
    commands.push(sh`ip addr del ${extra} dev ${t.dev}`);
    changes.push(`remove ${extra}`);
  }
  if (!have.includes(t.address)) {
    commands.push(sh`ip addr add ${t.address} dev ${t.dev}`);
    changes.push(`address ${t.address}`);
  }
  if (!link.up) {
    commands.push(sh`ip link set ${t.dev} up`);
    changes.push("up");
  }
  return commands.length ? { commands, summary: changes.join(", ") } : null;
}

/** Hub tunnels (VXLAN links named mu<digits>) whose uplink left the inventory. */
export const staleHubTunnels = (wanted: string[], links: Map<string, LinkState>): string[] =>
  [...links.values()]
    .filter((l) => l.kind === "vxlan" && /^mu\d+$/.test(l.name) && !wanted.includes(l.name))
    .map((l) => l.name);
