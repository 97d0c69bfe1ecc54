// A mesh client's Nebula underlay by policy rule: with its internet inside Nebula, every UDP datagram Nebula itself sends
// (from its fixed listen port) keeps the real default gateway, whatever address the peer is at. Host routes alone
// (underlay.ts) cover only addresses the inventory knows; a hub behind Starlink's CGNAT is reached at whatever public
// address its carrier gives it, which only the relay's lighthouse learns: a datagram to it would enter the tun and loop.
//
// Two rules, as wg-quick does it: first the main table without its routes of prefix length 0 and 1 (so the home LAN,
// the host routes and anything more specific stay), then table 77 with the real default route.
import { raw, sh, type Command } from "../../lib/command.ts";
import { defineFact } from "../../lib/facts/fact.ts";
import type { Resource } from "../../lib/resources/resource.ts";
import { json, mainRoutesFact, type MainRoute } from "./ip-facts.ts";
import { UNDERLAY_PROTO } from "./underlay.ts";

/** Table of the real default route for Nebula's own UDP (the number of the protocol that marks our routes). */
export const UNDERLAY_TABLE = "77";
/** Priorities of the two rules, well before the main table's (32766). */
const UNDERLAY_RULE_PRIORITIES = [7700, 7701] as const;

export interface UnderlayRule {
  priority: number;
  ipproto?: string;
  sport?: number;
  table: string;
  suppressPrefixlen?: number;
}

interface IpRule {
  priority: number;
  ipproto?: string;
  sport?: number;
  table: string | number;
  suppress_prefixlen?: number;
}
export const underlayRulesFact = defineFact("ip:underlay-rules", sh`ip -j -4 rule show`, (out) =>
  json<IpRule>(out, "policy rules")
    .filter((r) => (UNDERLAY_RULE_PRIORITIES as readonly number[]).includes(r.priority))
    .map((r): UnderlayRule => ({
      priority: r.priority,
      ...(r.ipproto ? { ipproto: r.ipproto } : {}),
      ...(r.sport !== undefined ? { sport: Number(r.sport) } : {}),
      table: String(r.table),
      ...(r.suppress_prefixlen !== undefined ? { suppressPrefixlen: r.suppress_prefixlen } : {}),
    })),
);
// A table that never held a route does not exist yet: ip then fails ("FIB table does not exist"), which reads as empty.
const underlayTableFact = defineFact(
  "ip:underlay-table",
  raw(`t=$(ip -j -4 route show table ${UNDERLAY_TABLE} 2>/dev/null) || t='[]'; echo "$t"`),
  (out) =>
    json<{ dst: string; gateway?: string; dev?: string }>(out, `routing table ${UNDERLAY_TABLE}`).map((r) => ({
      dst: r.dst,
      ...(r.gateway ? { gateway: r.gateway } : {}),
      ...(r.dev ? { dev: r.dev } : {}),
    })),
);

const wantedRules = (port: number): UnderlayRule[] => [
  { priority: UNDERLAY_RULE_PRIORITIES[0], ipproto: "udp", sport: port, table: "main", suppressPrefixlen: 1 },
  { priority: UNDERLAY_RULE_PRIORITIES[1], ipproto: "udp", sport: port, table: UNDERLAY_TABLE },
];
const same = (a: UnderlayRule, b: UnderlayRule) =>
  a.priority === b.priority &&
  a.ipproto === b.ipproto &&
  a.sport === b.sport &&
  a.table === b.table &&
  a.suppressPrefixlen === b.suppressPrefixlen;
const addRule = (r: UnderlayRule): Command =>
  r.suppressPrefixlen !== undefined
    ? sh`ip rule add priority ${r.priority} ipproto udp sport ${r.sport!} lookup ${r.table} suppress_prefixlength ${r.suppressPrefixlen}`
    : sh`ip rule add priority ${r.priority} ipproto udp sport ${r.sport!} lookup ${r.table}`;

/**
 * Commands that make the two rules (for Nebula's listen `port`) and table 77's default (the main table's default route
 * with the lowest metric) what they should be; `port` null removes them (a client that opted out).
 */
export function planUnderlayRule(
  port: number | null,
  rules: UnderlayRule[],
  table: { dst: string; gateway?: string; dev?: string }[],
  main: MainRoute[],
): Command[] {
  const wanted = port === null ? [] : wantedRules(port);
  const commands: Command[] = [];
  for (const r of rules) if (!wanted.some((w) => same(w, r))) commands.push(sh`ip rule del priority ${r.priority}`);
  for (const w of wanted) if (!rules.some((r) => same(w, r))) commands.push(addRule(w));
  if (port === null) return table.length ? [...commands, sh`ip route flush table ${UNDERLAY_TABLE}`] : commands;
  const gw = main
    .filter((r) => r.dst === "default" && r.dev && r.protocol !== UNDERLAY_PROTO)
    .sort((a, b) => a.metric - b.metric)[0];
  // No default route: nothing to keep Nebula on (the host-route plan says so to the user); the rules stay harmless.
  if (!gw) return commands;
  const ok =
    table.length === 1 && table[0].dst === "default" && table[0].gateway === gw.gateway && table[0].dev === gw.dev;
  if (!ok)
    commands.push(
      gw.gateway
        ? sh`ip route replace default via ${gw.gateway} dev ${gw.dev!} table ${UNDERLAY_TABLE} proto ${UNDERLAY_PROTO}`
        : sh`ip route replace default dev ${gw.dev!} table ${UNDERLAY_TABLE} proto ${UNDERLAY_PROTO}`,
    );
  return commands;
}

/** At boot (no runner to read the host): the rules anew and table 77's default from whatever default route the host has by then. */
export function underlayRuleBootCommands(port: number): string[] {
  return [
    ...UNDERLAY_RULE_PRIORITIES.map((p) => `ip rule del priority ${p} 2>/dev/null`),
    ...wantedRules(port).map((r) => addRule(r).render()),
    "route=$(ip -4 route show default | grep -v 'proto 77' | head -n 1)",
    "via=$(echo \"$route\" | sed -n 's/.* via \\([^ ]*\\).*/\\1/p')",
    "dev=$(echo \"$route\" | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p')",
    `if [ -n "$dev" ]; then ip route replace default \${via:+via "$via"} dev "$dev" table ${UNDERLAY_TABLE} proto ${UNDERLAY_PROTO}; fi`,
  ];
}

export function underlayRule(spec: { name: string; port: number | null }): Resource & { bootCommands(): string[] } {
  return {
    bootCommands: () => (spec.port === null ? [] : underlayRuleBootCommands(spec.port)),
    name: spec.name,
    facts: [underlayRulesFact, underlayTableFact, mainRoutesFact],
    plan(read) {
      const commands = planUnderlayRule(
        spec.port,
        read(underlayRulesFact),
        read(underlayTableFact),
        read(mainRoutesFact),
      );
      return commands.length ? { commands, summary: `${commands.length} rule/route change(s)` } : null;
    },
  };
}
