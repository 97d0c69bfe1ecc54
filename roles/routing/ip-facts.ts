// Facts read from `ip -j` (links with details, addresses, policy rules, routes of every table) and their parsers; absent where ip has no JSON yet.
import { raw } from "../../lib/command.ts";
import { defineFact, type ProbeOutput } from "../../lib/facts/fact.ts";

export interface LinkState {
  name: string;
  kind: string | null;
  mtu: number;
  up: boolean;
  vxlan?: { id: number; local: string; remote: string; port: number };
}
export interface RuleState {
  priority: number;
  from: string;
  table: string;
  suppressDefault?: boolean;
}
export interface RouteState {
  table: string;
  dst: string;
  gateway?: string;
  dev?: string;
}

/** What a probe prints when this ip has no JSON output (OpenWrt's BusyBox ip, before ip-full is installed). */
export const NO_JSON_IP = "@no-ip-json";

/** Runs an `ip -j` probe only where ip speaks JSON; elsewhere the state reads as absent (nothing of ours there yet). */
const ipJson = (args: string) =>
  raw(`if ip -j link show dev lo >/dev/null 2>&1; then ip -j ${args}; else echo ${NO_JSON_IP}; fi`);

export const json = <T>({ stdout, code }: ProbeOutput, what: string): T[] => {
  const text = stdout.trim();
  // Read as "none yet": the run installs ip-full first (phase 1); under --check the plan shows what it would create.
  if (text === NO_JSON_IP) return [];
  if (code !== 0) throw new Error(`could not read ${what} (ip exited ${code}); is iproute2's ip installed?`);
  return text ? (JSON.parse(text) as T[]) : [];
};

interface IpLink {
  ifname: string;
  mtu: number;
  flags?: string[];
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; remote?: string; port?: number } };
}
export function parseLinks(out: ProbeOutput): Map<string, LinkState> {
  const links = new Map<string, LinkState>();
  for (const l of json<IpLink>(out, "links")) {
    const d = l.linkinfo?.info_data;
    const kind = l.linkinfo?.info_kind ?? null;
    links.set(l.ifname, {
      name: l.ifname,
      kind,
      mtu: l.mtu,
      up: (l.flags ?? []).includes("UP"),
      ...(kind === "vxlan" && d
        ? { vxlan: { id: d.id ?? 0, local: d.local ?? "", remote: d.remote ?? "", port: d.port ?? 0 } }
        : {}),
    });
  }
  return links;
}

interface IpAddr {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}
/** IPv4 addresses per interface, as "a.b.c.d/len". */
export function parseAddresses(out: ProbeOutput): Map<string, string[]> {
  const addrs = new Map<string, string[]>();
  for (const a of json<IpAddr>(out, "addresses")) {
    addrs.set(
      a.ifname,
      (a.addr_info ?? []).filter((i) => i.family === "inet").map((i) => `${i.local}/${i.prefixlen}`),
    );
  }
  return addrs;
}

interface IpRule {
  priority: number;
  src: string;
  srclen?: number;
  table: string;
  suppress_prefixlen?: number;
}
export const parseRules = (out: ProbeOutput): RuleState[] =>
  json<IpRule>(out, "policy rules").map((r) => ({
    priority: r.priority,
    from: r.src === "all" ? "all" : `${r.src}/${r.srclen ?? 32}`,
    table: String(r.table),
    ...(r.suppress_prefixlen === 0 ? { suppressDefault: true } : {}),
  }));

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  table?: string | number;
  metric?: number;
  protocol?: string | number;
}
/** Routes of every table; the main table's have no "table" field in ip's output. */
export const parseRoutes = (out: ProbeOutput): RouteState[] =>
  json<IpRoute>(out, "routes").map((r) => ({
    table: String(r.table ?? "main"),
    dst: r.dst,
    ...(r.gateway ? { gateway: r.gateway } : {}),
    ...(r.dev ? { dev: r.dev } : {}),
  }));

export const linksFact = defineFact("ip:links", ipJson("-d link show"), parseLinks);
export const addressesFact = defineFact("ip:addresses", ipJson("-4 addr show"), parseAddresses);
export const rulesFact = defineFact("ip:rules", ipJson("-4 rule show"), parseRules);
export const routesFact = defineFact("ip:routes", ipJson("-4 route show table all"), parseRoutes);

/** A main-table route with what a client's underlay plan compares: metric, and the protocol that marks routes as ours. */
export interface MainRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  metric: number;
  protocol: string;
}
export const parseMainRoutes = (out: ProbeOutput): MainRoute[] =>
  json<IpRoute>(out, "the routes").map((r) => ({
    dst: r.dst,
    ...(r.gateway ? { gateway: r.gateway } : {}),
    ...(r.dev ? { dev: r.dev } : {}),
    metric: r.metric ?? 0,
    protocol: String(r.protocol ?? "boot"),
  }));
export const mainRoutesFact = defineFact("ip:main-routes", ipJson("-4 route show table main"), parseMainRoutes);
