// Roles and plays: what a playbook in tasks/ is made of.
import type { Handler, Resource } from "./resources/resource.ts";
import type { Host, Inventory, OsFamily } from "./inventory/types.ts";
import type { HostFacts } from "./facts/host.ts";
import { effectiveVars } from "./inventory/vars.ts";

/** Everything a role may know about the host it is planning for. Passed, never global. */
export interface HostContext {
  host: Host;
  os: OsFamily;
  /** Identified on the host at the start of the play: OS, init system, kernel. */
  facts: HostFacts;
  /** Role defaults < inventory < group < host < command line (-e). */
  vars: Record<string, unknown>;
  /** The whole inventory, read-only: the hub needs the list of uplinks. */
  inventory: Inventory;
  /** Another host's effective vars in this run (the play's role defaults < inventory < group < host < -e); read it through varsOf(). */
  varsOf?: (other: Host) => Record<string, unknown>;
}

/** Every tag a playbook's plays select on: their roles' names (each resource carries its role's) and the roles' own tags. */
export const tagsOf = (...plays: Play[]): string[] => [
  ...new Set(plays.flatMap((p) => p.roles.flatMap((r) => [r.name, ...(r.tags ?? [])]))),
];

/** What a role reads of another host's vars (or its own): as the runner computes them, defaults and -e included. */
export const varsOf = (ctx: HostContext, other: Host): Record<string, unknown> =>
  ctx.varsOf ? ctx.varsOf(other) : effectiveVars(other);

export interface Role {
  name: string;
  /** Defaults a user may override, each prefixed with the role's name. */
  defaults: Record<string, unknown>;
  tasks(ctx: HostContext): Resource[];
  /** Tags its resources carry besides the role's name (ResourceOptions.tags), so --tags can be checked before a run. */
  tags?: readonly string[];
  handlers?(ctx: HostContext): Handler[];
}

export interface Play {
  /** Shown in the progress output: "Deploy the hub". */
  name: string;
  /** Group or host names this play targets ("all" for every host). */
  hosts: string[];
  roles: Role[];
}
