// Mesh clients' internet through the hub (client_internet_via_mesh): the client's split default over Nebula, and the
// subnets the hub's certificate must carry for Nebula to pass that traffic.
import type { Host, Inventory } from "../../lib/inventory/types.ts";
import { nodeTypeOf, type NodeType } from "./node-types.ts";

/** The IPv4 internet in two halves: more specific than any default route, so the real default stays for the underlay. */
export const INTERNET_HALVES = ["0.0.0.0/1", "128.0.0.0/1"];

const optsIn = (vars: Record<string, unknown>) => vars.client_internet_via_mesh === true;

/** Clients send their internet-bound traffic to the hub (the lighthouse's mesh IP) when they opt in. */
export function clientInternetRoutes(type: NodeType, vars: Record<string, unknown>, hubMeshIp: string): { route: string; via: string }[] {
  return type === "client" && optsIn(vars) ? INTERNET_HALVES.map((route) => ({ route, via: hubMeshIp })) : [];
}

/** The hub's certificate carries the internet halves once any client in the inventory opts in: Nebula drops the rest. */
export function hubInternetSubnets(type: NodeType, inventory: Inventory): string[] {
  const anyClient = inventory.hosts.some((h: Host) => nodeTypeOf(h) === "client" && optsIn(h.vars));
  return type === "lighthouse" && anyClient ? INTERNET_HALVES : [];
}
