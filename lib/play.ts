// Roles and plays: what a playbook in tasks/ is made of.
import type { Handler, Resource } from "./resources/resource.ts";
import type { Host, Inventory, OsFamily } from "./inventory/types.ts";
import type { HostFacts } from "./facts/host.ts";

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
}

export interface Role {
  name: string;
  /** Defaults a user may override, each prefixed with the role's name. */
  defaults: Record<string, unknown>;
  tasks(ctx: HostContext): Resource[];
  handlers?(ctx: HostContext): Handler[];
}

export interface Play {
  /** Shown in the progress output: "Deploy the hub". */
  name: string;
  /** Group or host names this play targets ("all" for every host). */
  hosts: string[];
  roles: Role[];
}
