// What each kind of mesh node is: its certificate groups, lighthouse/relay duties and who may reach it.
import type { Host, Inventory } from "../../lib/inventory/types.ts";
import { isIpv4 } from "../../lib/pki/cidr.ts";

export type NodeType = "lighthouse" | "relay" | "uplink" | "client" | "node";

export const nodeTypeOf = (host: Host): NodeType =>
  ({ hub: "lighthouse", relays: "relay", uplinks: "uplink", clients: "client" })[host.group] as NodeType ?? "node";

/** Certificate groups: the firewall of every other node decides by these. */
export const groupsOf = (type: NodeType): string[] =>
  ({ lighthouse: ["hub", "lighthouse", "relay"], relay: ["relay"], uplink: ["uplink"], client: ["client"], node: ["node"] })[type];

export interface InboundRule {
  port: string | number;
  proto: "any" | "tcp" | "udp" | "icmp";
  host?: string;
  groups?: string[];
}

/** Default deny inbound; each type opens only what the community network needs. */
export function inboundRules(type: NodeType, statsPort: number): InboundRule[] {
  const ping: InboundRule = { port: "any", proto: "icmp", host: "any" };
  const stats: InboundRule = { port: statsPort, proto: "tcp", groups: ["hub"] };
  switch (type) {
    case "lighthouse":
      // Every mesh member reaches the hub's services (DNS, local apps, the internet through it).
      return [ping, { port: "any", proto: "any", groups: ["uplink"] }, { port: "any", proto: "any", groups: ["client"] }, { port: "any", proto: "any", groups: ["relay"] }];
    case "uplink":
      // Only the hub may reach an uplink (and send traffic through it); other mesh nodes cannot reach it or its home.
      return [{ port: "any", proto: "any", groups: ["hub"] }];
    case "relay":
      return [ping, stats];
    case "client":
      return [{ port: "any", proto: "icmp", groups: ["hub"] }];
    case "node":
      return [ping, stats];
  }
}

/** The underlay address other nodes dial to reach a host: its public address when it is behind a router. */
export const publicAddressOf = (h: Host): string =>
  (h.vars.nebula_public_address as string | undefined) ?? (h.vars.wan_address as string | undefined) ?? h.address;

/**
 * Lighthouses of the mesh (the hub group), with the underlay endpoints nodes dial: the hub's own port, then each
 * relay's forwarder (`forwardPort`, 0 for none). Nebula 1.6 never asks a lighthouse for a lighthouse's relays, so a
 * node whose UDP to the hub is blocked reaches it through a relay's UDP forwarder; Nebula tries every endpoint at once.
 */
export function lighthousesOf(inventory: Inventory, port: number, forwardPort = 0): { name: string; mesh_ip: string; endpoints: string[] }[] {
  const forwarders = forwardPort ? inventory.hosts.filter((h) => nodeTypeOf(h) === "relay").map((h) => `${publicAddressOf(h)}:${forwardPort}`) : [];
  return inventory.hosts
    .filter((h) => nodeTypeOf(h) === "lighthouse" && h.meshIp)
    .map((h) => ({
      name: h.name,
      mesh_ip: h.meshIp!,
      endpoints: [`${publicAddressOf(h)}:${(h.vars.nebula_port as number | undefined) ?? port}`, ...forwarders],
    }));
}

/**
 * Where a node also has relays' forwarders for the hub, it prefers the hub's own address: Nebula takes whichever
 * endpoint answers a handshake first, and moves a tunnel to a preferred range when that range answers (1.6's
 * TryPromoteBest), so a node that can reach the hub directly ends up there even if the relay answered first.
 */
export const directPreference = (lighthouses: { endpoints: string[] }[]): string[] =>
  lighthouses
    .filter((l) => l.endpoints.length > 1)
    .map((l) => endpointAddress(l.endpoints[0]))
    .filter(isIpv4)
    .map((address) => `${address}/32`);

/** "203.0.113.10:4242" -> "203.0.113.10". */
export const endpointAddress = (endpoint: string): string => endpoint.slice(0, endpoint.lastIndexOf(":"));

/** Mesh addresses of the relays (the hub relays too) a node behind hard NAT can be reached through. */
export const relaysOf = (inventory: Inventory, self: Host): string[] =>
  inventory.hosts.filter((h) => h !== self && h.meshIp && (nodeTypeOf(h) === "relay" || nodeTypeOf(h) === "lighthouse")).map((h) => h.meshIp!);
