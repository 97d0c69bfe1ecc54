// What each kind of mesh node is: its certificate groups, lighthouse/relay duties and who may reach it.
import type { Host, Inventory } from "../../lib/inventory/types.ts";

/** "lighthouse" is the hub's type (group hub), also where a hub behind CGNAT leaves Nebula's lighthouse duty to relays. */
export type NodeType = "lighthouse" | "relay" | "uplink" | "client" | "admin" | "node";

export const nodeTypeOf = (host: Host): NodeType =>
  (({ hub: "lighthouse", relays: "relay", uplinks: "uplink", clients: "client", admins: "admin" })[
    host.group
  ] as NodeType) ?? "node";

/** Certificate groups: the firewall of every other node decides by these. */
export const groupsOf = (type: NodeType): string[] =>
  ({
    lighthouse: ["hub", "lighthouse", "relay"],
    relay: ["relay"],
    uplink: ["uplink"],
    client: ["client"],
    admin: ["admins"],
    node: ["node"],
  })[type];

export interface InboundRule {
  port: string | number;
  proto: "any" | "tcp" | "udp" | "icmp";
  host?: string;
  groups?: string[];
}

const SSH = 22;

/**
 * SSH from the hub and from admins, one rule per group: a rule's `groups` list is AND in Nebula (a peer must carry all
 * of them), so [hub, admins] would admit nobody.
 */
const sshFrom = (groups: string[]): InboundRule[] => groups.map((g) => ({ port: SSH, proto: "tcp", groups: [g] }));

/** Everything but SSH from a group: Nebula has no "except", so TCP is split around port 22. */
const allButSshFrom = (group: string): InboundRule[] => [
  { port: `1-${SSH - 1}`, proto: "tcp", groups: [group] },
  { port: `${SSH + 1}-65535`, proto: "tcp", groups: [group] },
  { port: "any", proto: "udp", groups: [group] },
  { port: "any", proto: "icmp", groups: [group] },
];

/**
 * Default deny inbound; each type opens only what the community network needs. SSH only from the hub and admins (a
 * maintainer's laptop on the mesh); the hub also from uplinks: the installer at a volunteer's home reaches the hub
 * through the freshly enrolled router.
 */
export function inboundRules(type: NodeType, statsPort: number): InboundRule[] {
  const ping: InboundRule = { port: "any", proto: "icmp", host: "any" };
  const stats: InboundRule = { port: statsPort, proto: "tcp", groups: ["hub"] };
  switch (type) {
    case "lighthouse":
      // Every mesh member reaches the hub's services (DNS, local apps, the internet through it); SSH only admins and uplinks.
      return [
        ping,
        { port: "any", proto: "any", groups: ["uplink"] },
        { port: "any", proto: "any", groups: ["admins"] },
        ...allButSshFrom("client"),
        ...allButSshFrom("relay"),
      ];
    case "uplink":
      // Only the hub may reach an uplink (and send traffic through it); other mesh nodes cannot reach it or its home.
      return [{ port: "any", proto: "any", groups: ["hub"] }, ...sshFrom(["admins"])];
    case "relay":
    case "node":
      return [ping, stats, ...sshFrom(["hub", "admins"])];
    case "client":
    case "admin":
      return [{ port: "any", proto: "icmp", groups: ["hub"] }, ...sshFrom(["hub", "admins"])];
  }
}

/**
 * Mesh addresses of the relays `self` names for others to reach it through (relay.relays): every relay, and the hub
 * when it relays (it is Nebula's lighthouse). Nebula 1.6.1 ignores relay.relays on a node with am_relay.
 */
export const relaysOf = (inventory: Inventory, self: Host, hubRelays: boolean): string[] =>
  inventory.hosts
    .filter(
      (h) => h !== self && h.meshIp && (nodeTypeOf(h) === "relay" || (hubRelays && nodeTypeOf(h) === "lighthouse")),
    )
    .map((h) => h.meshIp!);
