// Policy rules and the routes through tunnels that the routing role owns: planned from `ip -j rule show` / `ip -j route show table all`.
import { sh, type Command } from "../../lib/command.ts";
import type { RouteState, RuleState } from "./ip-facts.ts";

export interface WantedRule {
  priority: number;
  from: string;
  table: string;
  /** `suppress_prefixlength 0`: use the table but not its default route. */
  suppressDefault?: boolean;
}
export interface WantedRoute {
  table: string;
  dst: string;
  gateway: string;
  dev: string;
}

const sameRule = (a: WantedRule, b: RuleState) =>
  a.priority === b.priority && a.from === b.from && a.table === b.table && !!a.suppressDefault === !!b.suppressDefault;

/** Adds missing rules; removes rules in the owned priority range [lo, hi) that are not wanted (an uplink that left). */
export function planRules(wanted: WantedRule[], have: RuleState[], owned: [number, number]): Command[] {
  const del = have
    .filter((r) => r.priority >= owned[0] && r.priority < owned[1] && !wanted.some((w) => sameRule(w, r)))
    .map((r) => sh`ip rule del priority ${r.priority} from ${r.from} table ${r.table}`);
  const add = wanted
    .filter((w) => !have.some((r) => sameRule(w, r)))
    .map((w) =>
      w.suppressDefault
        ? sh`ip rule add priority ${w.priority} from ${w.from} table ${w.table} suppress_prefixlength 0`
        : sh`ip rule add priority ${w.priority} from ${w.from} table ${w.table}`,
    );
  return [...del, ...add];
}

/** Sets the wanted routes that differ (`ip route replace`). Routes through a tunnel that goes leave with its link. */
export function planRoutes(wanted: WantedRoute[], have: RouteState[]): Command[] {
  return wanted
    .filter(
      (w) => !have.some((r) => r.table === w.table && r.dst === w.dst && r.gateway === w.gateway && r.dev === w.dev),
    )
    .map((w) => sh`ip route replace ${w.dst} via ${w.gateway} dev ${w.dev} table ${w.table}`);
}
