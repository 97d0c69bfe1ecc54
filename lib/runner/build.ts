// Build: a play's roles turned into one host's tasks and handlers, each role with its own defaults under the host's vars.
import type { HostFacts } from "../facts/host.ts";
import type { Host, Inventory } from "../inventory/types.ts";
import { effectiveVars, mergeVars } from "../inventory/vars.ts";
import type { HostContext, Play } from "../play.ts";
import type { Resource } from "../resources/resource.ts";
import type { Built, RunOptions } from "./steps.ts";

const selected = (resource: Resource, roleName: string, options: RunOptions): boolean => {
  const tags = [roleName, ...(resource.tags ?? [])];
  if (options.skipTags?.some((t) => tags.includes(t))) return false;
  return !options.tags?.length || options.tags.some((t) => tags.includes(t));
};

export function buildTasks(play: Play, host: Host, inventory: Inventory, facts: HostFacts, options: RunOptions): Built {
  const built: Built = { tasks: [], handlers: new Map(), skipped: 0 };
  // Other hosts' vars under every role of the play's defaults: the hub's routing reads its uplinks' nebula ports, say.
  const playDefaults = mergeVars(...play.roles.map((r) => r.defaults));
  const varsOf = (other: Host) => effectiveVars(other, playDefaults, options.extraVars);
  for (const role of play.roles) {
    const ctx: HostContext = {
      host,
      facts,
      os: facts.os,
      vars: effectiveVars(host, role.defaults, options.extraVars),
      inventory,
      varsOf,
    };
    for (const resource of role.tasks(ctx)) {
      if (selected(resource, role.name, options)) built.tasks.push(resource);
      else built.skipped++;
    }
    for (const handler of role.handlers?.(ctx) ?? []) built.handlers.set(handler.name, handler);
  }
  return built;
}

/** Every probe the tasks declare (gather de-duplicates them by key). */
export const factsOf = (tasks: readonly Resource[]) => tasks.flatMap((t) => t.facts);
