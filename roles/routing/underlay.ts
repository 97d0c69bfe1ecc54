// A mesh client's underlay host routes: with its internet inside Nebula (0.0.0.0/1 + 128.0.0.0/1 on the tun), Nebula's
// own UDP to the hub and the relays' forwarders must keep using the real default gateway, or it would loop into the tun.
import { quote, sh, type Command } from "../../lib/command.ts";
import { UserError } from "../../lib/errors.ts";
import { cidrWithin } from "../../lib/pki/cidr.ts";
import type { Resource } from "../../lib/resources/resource.ts";
import { mainRoutesFact, type MainRoute } from "./ip-facts.ts";

/** Protocol number that marks the routes this role owns (shown by `ip route` as "proto 77"). */
export const UNDERLAY_PROTO = "77";

/** A connected route's destination covers an endpoint ("192.168.3.0/24", or a bare address for a /32). */
const covers = (dst: string, ip: string) => cidrWithin(`${ip}/32`, dst.includes("/") ? dst : `${dst}/32`);

/**
 * Commands that give each endpoint a host route via the current default gateway (lowest metric), except endpoints on
 * a directly connected network; routes of ours no longer wanted (endpoint gone, client opted out) are deleted.
 */
export function planUnderlayRoutes(endpoints: string[], routes: MainRoute[], host: string): Command[] {
  const ours = routes.filter((r) => r.protocol === UNDERLAY_PROTO);
  const connected = routes.filter((r) => r.protocol === "kernel" && !r.gateway && r.dst !== "default");
  const wanted = [...new Set(endpoints)].filter((ip) => !connected.some((r) => covers(r.dst, ip)));
  const del = ours.filter((r) => !wanted.includes(r.dst)).map((r) => sh`ip route del ${r.dst} proto ${UNDERLAY_PROTO}`);
  if (wanted.length === 0) return del;
  // A PPP or LTE default has a device and no gateway.
  const gw = routes
    .filter((r) => r.dst === "default" && r.dev && r.protocol !== UNDERLAY_PROTO)
    .sort((a, b) => a.metric - b.metric)[0];
  if (!gw)
    throw new UserError(
      `${host} has no default route: its Nebula traffic to ${wanted.join(", ")} would enter the mesh itself`,
      "give the client a default route (its own internet line), or set client_internet_via_mesh: false",
    );
  const set = wanted
    .filter((ip) => !ours.some((r) => r.dst === ip && r.gateway === gw.gateway && r.dev === gw.dev))
    .map((ip) =>
      gw.gateway
        ? sh`ip route replace ${ip} via ${gw.gateway} dev ${gw.dev!} proto ${UNDERLAY_PROTO}`
        : sh`ip route replace ${ip} dev ${gw.dev!} proto ${UNDERLAY_PROTO}`,
    );
  return [...del, ...set];
}

/** At boot (no runner to read the host): the same routes via whatever default route the host has by then. */
export function underlayBootCommands(endpoints: string[]): string[] {
  if (endpoints.length === 0) return [];
  return [
    "route=$(ip -4 route show default | head -n 1)",
    "via=$(echo \"$route\" | sed -n 's/.* via \\([^ ]*\\).*/\\1/p')",
    "dev=$(echo \"$route\" | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p')",
    `if [ -n "$dev" ]; then`,
    ...[...new Set(endpoints)].map(
      (ip) => `\tip route replace ${quote(ip)} \${via:+via "$via"} dev "$dev" proto ${UNDERLAY_PROTO}`,
    ),
    "fi",
  ];
}

export function underlayRoutes(spec: {
  name: string;
  endpoints: string[];
  host: string;
}): Resource & { bootCommands(): string[] } {
  return {
    bootCommands: () => underlayBootCommands(spec.endpoints),
    name: spec.name,
    facts: [mainRoutesFact],
    plan(read) {
      const commands = planUnderlayRoutes(spec.endpoints, read(mainRoutesFact), spec.host);
      return commands.length ? { commands, summary: `${commands.length} route change(s)` } : null;
    },
  };
}
