// What the schema cannot say about an inventory: known groups and one hub, addresses that are really addresses (no
// port, no octet above 255) or names, and subnets that are networks outside the mesh overlay.
import { isIPv6 } from "node:net";
import { KNOWN_GROUPS } from "../../inventory/known-vars.ts";
import { cidrWithin, maskOfBits, parseCidr, uintToIp } from "../pki/cidr.ts";
import { closest, type Locator, type Problem } from "./locate.ts";
import { MESH_NETWORK } from "./mesh-ip.ts";

interface RawGroups {
  vars?: Record<string, unknown>;
  groups: Record<string, { vars?: Record<string, unknown>; hosts?: Record<string, { address?: string }> }>;
}

/** Why `text` is neither an IPv4 address, an IPv6 address nor a DNS name; undefined when it is one. */
export function addressProblem(text: string): string | undefined {
  if (/^[0-9.]+$/.test(text)) {
    const parts = text.split(".");
    if (parts.length !== 4 || parts.some((p) => p === ""))
      return `"${text}" is not an IPv4 address: it has ${parts.filter(Boolean).length} numbers; expected four, 0 to 255, such as 192.168.8.1`;
    const bad = parts.find((p) => Number(p) > 255);
    if (bad)
      return `"${text}" is not an IPv4 address: ${bad} is above 255; expected four numbers 0 to 255, such as 192.168.8.1`;
    return undefined;
  }
  const colons = text.split(":").length - 1;
  if (colons === 1) {
    const [address, port] = text.split(":");
    return `"${text}" has a port in it; expected the address alone (address: ${address}) and the port in its own field (port: ${port})`;
  }
  if (colons > 1)
    return isIPv6(text)
      ? undefined
      : `"${text}" is not an IPv6 address; expected an IPv4 or IPv6 address, or a DNS name`;
  const labels = text.split(".");
  if (text.length > 253 || labels.some((l) => !/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l))) {
    return `"${text}" is not a DNS name: each dot-separated part is letters, digits and '-', not starting or ending with '-'; expected an address such as 192.168.8.1 or a name such as hub.example.org`;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1]))
    return `"${text}" is neither an IPv4 address nor a name (a name does not end in a number); expected four numbers 0 to 255 or a DNS name`;
  return undefined;
}

/** Why `cidr` is not a network outside the overlay; undefined when it is fine. */
function subnetProblem(name: string, cidr: string): string | undefined {
  const c = parseCidr(cidr, name);
  const network = uintToIp((c.ip & maskOfBits(c.bits)) >>> 0);
  if ((c.ip & maskOfBits(c.bits)) >>> 0 !== c.ip >>> 0)
    return `${cidr} has host bits set; expected the network address: ${network}/${c.bits}`;
  // Two networks overlap exactly when one contains the other.
  if (cidrWithin(cidr, MESH_NETWORK) || cidrWithin(MESH_NETWORK, cidr))
    return `${cidr} overlaps the mesh overlay ${MESH_NETWORK} (Nebula's addresses); expected a network outside it`;
  return undefined;
}

const SUBNET_VARS = ["lan_subnet", "radio_subnet"];
/** Vars that may hold a name as well as an address (the schema checks the IPv4-only ones). */
const ADDRESS_VARS = ["public_address", "nebula_public_address"];

export function inventoryProblems(raw: RawGroups, locate: Locator): Problem[] {
  const problems: Problem[] = [];
  const known = Object.keys(KNOWN_GROUPS);
  const hubs: string[] = [];
  const layers: { path: (string | number)[]; vars?: Record<string, unknown> }[] = [{ path: ["vars"], vars: raw.vars }];
  for (const [group, g] of Object.entries(raw.groups)) {
    if (!(group in KNOWN_GROUPS)) {
      const hint = closest(group, known);
      problems.push({
        line: locate.keyLine(["groups"], group),
        path: `groups.${group}`,
        problem: `unknown group "${group}"${hint ? ` (did you mean "${hint}"?)` : ""}: no play deploys its hosts; expected one of: ${Object.entries(
          KNOWN_GROUPS,
        )
          .map(([n, what]) => `${n} (${what})`)
          .join(", ")}`,
      });
    }
    layers.push({ path: ["groups", group, "vars"], vars: g.vars });
    for (const [name, h] of Object.entries(g.hosts ?? {})) {
      if (group === "hub") hubs.push(name);
      layers.push({
        path: ["groups", group, "hosts", name, "vars"],
        vars: (h as { vars?: Record<string, unknown> }).vars,
      });
      const why = h.address === undefined ? undefined : addressProblem(h.address);
      if (why) problems.push(locate.at(["groups", group, "hosts", name, "address"], why));
    }
  }
  for (const extra of hubs.slice(1)) {
    problems.push({
      line: locate.keyLine(["groups", "hub", "hosts"], extra),
      path: `groups.hub.hosts.${extra}`,
      problem: `a second hub (${hubs[0]} is the hub): a mesh has exactly one, at 10.0.4.1; expected ${extra} in another group (relays?)`,
    });
  }
  for (const { path, vars } of layers) {
    for (const key of SUBNET_VARS) {
      const value = vars?.[key];
      const why = typeof value === "string" ? subnetProblem(key, value) : undefined;
      if (why) problems.push(locate.at([...path, key], why));
    }
    for (const key of ADDRESS_VARS) {
      const value = vars?.[key];
      const why = typeof value === "string" ? addressProblem(value) : undefined;
      if (why) problems.push(locate.at([...path, key], why));
    }
  }
  return problems;
}
