// Resources of the routing role: a tunnel with the routes through it, policy rules (its nftables table: lib/resources/nft-table.ts).
import { sh } from "../../lib/command.ts";
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

export function policyRules(
  spec: { name: string; rules: WantedRule[]; owned: [number, number] } & ResourceOptions,
): Resource {
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
