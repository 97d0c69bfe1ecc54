// Mesh clients' internet through the hub (client_internet_via_mesh): the client's split default over Nebula, and the
// subnets the hub's certificate must carry for Nebula to pass that traffic.
import type { Host, Inventory } from "../../lib/inventory/types.ts";
import { nodeTypeOf, type NodeType } from "./node-types.ts";

/** The IPv4 internet in two halves: more specific than any default route, so the real default stays for the underlay. */
export const INTERNET_HALVES = ["0.0.0.0/1", "128.0.0.0/1"];

const optsIn = (vars: Record<string, unknown>) => vars.client_internet_via_mesh === true;

/** Clients send their internet-bound traffic to the hub (the lighthouse's mesh IP) when they opt in. */
export function clientInternetRoutes(
  type: NodeType,
  vars: Record<string, unknown>,
  hubMeshIp: string,
): { route: string; via: string }[] {
  return type === "client" && optsIn(vars) ? INTERNET_HALVES.map((route) => ({ route, via: hubMeshIp })) : [];
}

/** The hub's certificate carries the internet halves once any client in the inventory opts in: Nebula drops the rest. */
export function hubInternetSubnets(type: NodeType, inventory: Inventory): string[] {
  const anyClient = inventory.hosts.some((h: Host) => nodeTypeOf(h) === "client" && optsIn(h.vars));
  return type === "lighthouse" && anyClient ? INTERNET_HALVES : [];
}

/**
 * The port a node's Nebula listens on. A client whose internet rides the mesh needs a fixed one (nebula_node_port, else
 * nebula_port): the routing role keeps Nebula's own UDP from that port on the real default gateway by a policy rule,
 * whatever address a peer is at, such as a hub behind CGNAT, found at whatever public address its carrier gives it
 * (the relay's lighthouse tells; no inventory can). Others keep nebula_node_port (0: a random one).
 */
export function nodeListenPort(type: NodeType, vars: Record<string, unknown>): number {
  const nodePort = (vars.nebula_node_port as number | undefined) ?? 0;
  return type === "client" && optsIn(vars) && nodePort === 0
    ? ((vars.nebula_port as number | undefined) ?? 4242)
    : nodePort;
}
