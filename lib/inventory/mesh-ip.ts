// The mesh address plan (DESIGN.md): each mesh group has its slice of 10.0.4.0/16; the rest of the /16 is unassigned.
import type { MeshGroup } from "./types.ts";

export const MESH_NETWORK = "10.0.4.0/16";

const MESH_RANGES: Record<MeshGroup, { first: string; last: string }> = {
  hub: { first: "10.0.4.1", last: "10.0.4.31" },
  relays: { first: "10.0.4.33", last: "10.0.4.63" },
  uplinks: { first: "10.0.4.65", last: "10.0.4.127" },
  clients: { first: "10.0.4.129", last: "10.0.4.254" },
  // Maintainers' laptops that join the mesh (certificate group "admins"): outside 10.0.4.0/24, still in the cert's /16.
  admins: { first: "10.0.5.1", last: "10.0.5.62" },
};

export const isMeshGroup = (group: string): group is MeshGroup => group in MESH_RANGES;

const ipToInt = (ip: string): number => ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);
const intToIp = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");

export function inRange(group: MeshGroup, ip: string): boolean {
  const n = ipToInt(ip);
  return n >= ipToInt(MESH_RANGES[group].first) && n <= ipToInt(MESH_RANGES[group].last);
}

export const describeRange = (group: MeshGroup) => `${MESH_RANGES[group].first}-${MESH_RANGES[group].last}`;

/** The lowest address of the group's range not in `taken`, or undefined when the range is full. */
export function lowestFree(group: MeshGroup, taken: ReadonlySet<string>): string | undefined {
  for (let n = ipToInt(MESH_RANGES[group].first); n <= ipToInt(MESH_RANGES[group].last); n++) {
    const ip = intToIp(n);
    if (!taken.has(ip)) return ip;
  }
  return undefined;
}
