// Where each node finds the hub and the lighthouses (static_host_map, lighthouse.hosts, relays, preferred_ranges), from
// the network facts of the inventory: public_address, radio_address / radio_subnet, wan_address.
//
// Nebula 1.6.1 facts this rests on (read in lighthouse.go/handshake_manager.go of v1.6.1, checked with the real binary
// in test/lab/mesh.test.ts):
// - A lighthouse (am_lighthouse) never sends its own addresses to other lighthouses (LhUpdateWorker returns) and never
//   queries them (QueryServer returns): lighthouse.hosts on a lighthouse only logs a warning. A hub behind CGNAT that
//   stays a lighthouse is therefore unknown to the relay's lighthouse, and remote nodes can never find it.
// - A node with am_relay ignores relay.relays ("Relays aren't allowed to specify other relays"): it advertises no relay
//   for itself, so a node that cannot punch through to it has no way in.
// - A node asks a lighthouse for a host only when that host is not itself a lighthouse, and the answer carries the
//   host's relays: a non-lighthouse hub that lists the relay in relay.relays is reachable relayed.
// - static_host_map entries work for any host, not only lighthouses, and are tried beside what lighthouses report.
// Hence: a hub with an inbound address stays lighthouse and relay (as before); a hub without one (Starlink CGNAT) is
// an ordinary node that reports to the relays' lighthouses, punches through with their help and names them its relays.
import type { Host, Inventory } from "../../lib/inventory/types.ts";
import { UserError } from "../../lib/errors.ts";
import { cidrWithin, isIpv4 } from "../../lib/pki/cidr.ts";
import { nodeTypeOf } from "./node-types.ts";

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/**
 * The address the internet reaches a host at, inbound: nebula_public_address or public_address when given. A host
 * that says `public_address: null` (or sits on the radio and gives none) has none: behind CGNAT or a NAT without a
 * forward. Inventories written before these facts name only wan_address (or the SSH address): that one counts.
 */
export function inboundAddressOf(h: Host): string | null {
  const explicit = str(h.vars.nebula_public_address) ?? str(h.vars.public_address);
  if (explicit) return explicit;
  if ("public_address" in h.vars || "nebula_public_address" in h.vars || str(h.vars.radio_address)) return null;
  // A host managed over the mesh has its mesh IP as address: never an underlay endpoint.
  return str(h.vars.wan_address) ?? (h.address && h.address !== h.meshIp ? h.address : null);
}

/** A relay is also a lighthouse when the internet reaches it by a public address the inventory states. */
export const isRelayLighthouse = (h: Host): boolean =>
  nodeTypeOf(h) === "relay" && !!h.meshIp && !!(str(h.vars.nebula_public_address) ?? str(h.vars.public_address));

/** Two hosts on the same radio segment: `a`'s radio address lies in `b`'s radio_subnet. */
export function sameRadio(a: Host, b: Host): boolean {
  const addr = str(a.vars.radio_address);
  const subnet = str(b.vars.radio_subnet);
  return !!addr && !!subnet && isIpv4(addr) && !!str(b.vars.radio_address) && cidrWithin(`${addr}/32`, subnet);
}

export interface MeshPeer {
  name: string;
  mesh_ip: string;
  /** Underlay endpoints, "10.44.0.1:4242"; empty: found only through a lighthouse. */
  endpoints: string[];
  /** Listed in lighthouse.hosts (Nebula needs a static_host_map entry for every lighthouse). */
  lighthouse: boolean;
  /** The hub's own public address, when relays' forwarders for it are listed too (preferred over them). */
  direct?: string;
}

export interface MeshTopology {
  hub: Host;
  /** The hub is Nebula's lighthouse and relay (it has an inbound address, or no relay can be one instead). */
  hubIsLighthouse: boolean;
  relayLighthouses: Host[];
}

export function meshTopology(inventory: Inventory): MeshTopology {
  const hub = inventory.hosts.find((h) => nodeTypeOf(h) === "lighthouse" && h.meshIp);
  if (!hub)
    throw new UserError(`the inventory ${inventory.file} has no hub: every mesh needs one (a host in group "hub")`);
  const relayLighthouses = inventory.hosts.filter(isRelayLighthouse);
  return { hub, relayLighthouses, hubIsLighthouse: inboundAddressOf(hub) !== null || relayLighthouses.length === 0 };
}

const portOf = (h: Host, port: number) => (h.vars.nebula_port as number | undefined) ?? port;

/**
 * The peers `self` dials: the hub (its radio address from the same radio segment, its public address if it has one,
 * then each relay's UDP forwarder when `forwardPort` is set and the hub has a public address to forward to), and the
 * relays that are lighthouses (their public address).
 */
export function meshPeers(inventory: Inventory, self: Host, port: number, forwardPort = 0): MeshPeer[] {
  const t = meshTopology(inventory);
  const peers: MeshPeer[] = [];
  if (self !== t.hub) {
    const hubPublic = inboundAddressOf(t.hub);
    const forwarders =
      forwardPort && hubPublic
        ? inventory.hosts
            .filter((h) => nodeTypeOf(h) === "relay")
            .flatMap((h) => inboundAddressOf(h) ?? [])
            .map((a) => `${a}:${forwardPort}`)
        : [];
    const endpoints = [
      ...(sameRadio(self, t.hub) ? [`${str(t.hub.vars.radio_address)}:${portOf(t.hub, port)}`] : []),
      ...(hubPublic ? [`${hubPublic}:${portOf(t.hub, port)}`] : []),
      ...forwarders,
    ];
    // A lighthouse needs an endpoint; a hub that is none is found through the relays' lighthouses when it has no entry.
    if (endpoints.length > 0 || !t.hubIsLighthouse)
      peers.push({
        name: t.hub.name,
        mesh_ip: t.hub.meshIp!,
        endpoints,
        lighthouse: t.hubIsLighthouse && endpoints.length > 0,
        ...(forwarders.length && hubPublic ? { direct: hubPublic } : {}),
      });
  }
  for (const r of t.relayLighthouses.filter((r) => r !== self))
    peers.push({
      name: r.name,
      mesh_ip: r.meshIp!,
      endpoints: [`${inboundAddressOf(r)}:${portOf(r, port)}`],
      lighthouse: true,
    });
  if (
    self !== t.hub &&
    !peers.some((p) => p.lighthouse) &&
    !isRelayLighthouse(self) &&
    !(t.hubIsLighthouse && self === t.hub)
  ) {
    throw new UserError(
      `${self.name} (${self.source}) cannot find the hub: the hub has no public_address, ${self.name} is not on its radio_subnet, and no relay has a public_address to be a lighthouse`,
      "give a relay on a public address a public_address (it becomes a lighthouse), or put this node on the hub's radio",
    );
  }
  return peers;
}

/**
 * Underlay ranges a node tries first: its radio segment (the hub's radio address, and the mesh's bytes cross the
 * volunteer's line once), then the hub's own public address where relays' forwarders are also listed: Nebula takes
 * whichever endpoint answers a handshake first, and moves a tunnel to a preferred range when that range answers (1.6's
 * TryPromoteBest), so a node that can reach the hub directly ends up there even if the relay answered first.
 */
export function preferredRanges(self: Host, peers: MeshPeer[]): string[] {
  const radio = str(self.vars.radio_subnet) && str(self.vars.radio_address) ? [str(self.vars.radio_subnet)!] : [];
  const direct = peers.flatMap((p) => (p.direct && isIpv4(p.direct) ? [`${p.direct}/32`] : []));
  return [...new Set([...radio, ...direct])];
}

/** "203.0.113.10:4242" -> "203.0.113.10". */
export const endpointAddress = (endpoint: string): string => endpoint.slice(0, endpoint.lastIndexOf(":"));
