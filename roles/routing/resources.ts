// Resources of the routing role: a tunnel with the routes through it, policy rules, an nftables table of our own.
import { createHash } from "node:crypto";
import { sh } from "../../lib/command.ts";
import { defineFact } from "../../lib/facts/fact.ts";
import type { Resource, ResourceOptions } from "../../lib/resources/resource.ts";
import { addressesFact, linksFact, routesFact, rulesFact } from "./ip-facts.ts";
import { planRoutes, planRules, type WantedRoute, type WantedRule } from "./policy.ts";
import { planTunnel, staleHubTunnels, type TunnelSpec } from "./tunnel.ts";

/** The tunnel, and the routes that go through it (re-added whenever the tunnel is (re)created: deleting a link deletes its routes). */
export function tunnel(spec: TunnelSpec & { name: string; routes: WantedRoute[] } & ResourceOptions): Resource {
  return {
    name: spec.name,
    notify: spec.notify,
    tags: spec.tags,
    facts: [linksFact, addressesFact, routesFact],
    plan(read) {
      const link = planTunnel(spec, read(linksFact), read(addressesFact));
      const recreated = link !== null && /create/.test(link.summary);
      const routes = planRoutes(spec.routes, recreated ? [] : read(routesFact));
      const commands = [...(link?.commands ?? []), ...routes];
      const summary = [link?.summary, routes.length ? `${routes.length} route(s)` : ""].filter(Boolean).join(", ");
      return commands.length ? { commands, summary } : null;
    },
  };
}

/** Removes the hub's tunnels to uplinks that left the inventory (their routes go with them). */
export function staleTunnels(wanted: string[]): Resource {
  return {
    name: "Remove tunnels of uplinks no longer in the inventory",
    facts: [linksFact],
    plan(read) {
      const stale = staleHubTunnels(wanted, read(linksFact));
      return stale.length ? { commands: stale.map((dev) => sh`ip link del ${dev}`), summary: stale.join(", ") } : null;
    },
  };
}

export function policyRules(spec: { name: string; rules: WantedRule[]; owned: [number, number] } & ResourceOptions): Resource {
  return {
    name: spec.name,
    notify: spec.notify,
    tags: spec.tags,
    facts: [rulesFact],
    plan(read) {
      const commands = planRules(spec.rules, read(rulesFact), spec.owned);
      return commands.length ? { commands, summary: `${commands.length} rule change(s)` } : null;
    },
  };
}

export function staticRoutes(spec: { name: string; routes: WantedRoute[] } & ResourceOptions): Resource {
  return {
    name: spec.name,
    notify: spec.notify,
    tags: spec.tags,
    facts: [routesFact],
    plan(read) {
      const commands = planRoutes(spec.routes, read(routesFact));
      return commands.length ? { commands, summary: `${commands.length} route(s)` } : null;
    },
  };
}

/** The live table's comment (we put the sha256 of what we loaded there), or null when the table is absent. */
export const nftCommentFact = (family: string, table: string) =>
  defineFact(`nft-comment:${family}:${table}`, sh`nft list table ${family} ${table} 2>/dev/null`, ({ stdout, code }) =>
    code === 0 ? (/^\s*comment "([^"]*)"/m.exec(stdout)?.[1] ?? "") : null,
  );

/** An nftables table owned whole by the role, loaded in one transaction; compared by a hash of its text kept in the table's comment. */
export function ownNftTable(spec: { family: string; table: string; body: string } & ResourceOptions): Resource {
  const hash = `meshisp sha256:${createHash("sha256").update(spec.body).digest("hex").slice(0, 16)}`;
  const live = nftCommentFact(spec.family, spec.table);
  const text = `table ${spec.family} ${spec.table}\ndelete table ${spec.family} ${spec.table}\ntable ${spec.family} ${spec.table} {\n\tcomment "${hash}"\n${spec.body}\n}\n`;
  return {
    name: `Load nftables table ${spec.family} ${spec.table}`,
    notify: spec.notify,
    tags: spec.tags,
    facts: [live],
    plan(read) {
      const now = read(live);
      if (now === hash) return null;
      return { commands: [sh`printf '%s' ${text} | nft -f -`], summary: now === null ? "create" : "replace rules" };
    },
  };
}
