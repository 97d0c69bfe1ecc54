// Test helpers: an inventory from YAML text (written to a temp dir, loaded as the CLI would), and a host's context in it.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { InitSystem } from "../lib/facts/host.ts";
import { loadInventory } from "../lib/inventory/load.ts";
import type { Inventory } from "../lib/inventory/types.ts";
import { mergeVars } from "../lib/inventory/vars.ts";
import type { HostContext } from "../lib/play.ts";
import { identified } from "./helpers/plan.ts";

export function inventoryFrom(yaml: string, dir = mkdtempSync(join(tmpdir(), "meshisp-inv-"))): Inventory {
  writeFileSync(join(dir, "hosts.yml"), yaml);
  return loadInventory(join(dir, "hosts.yml"));
}

/** What the runner gives a role for `name`: vars merged as role defaults < inventory < `extra` (like -e). */
export function hostContext(
  inventory: Inventory,
  name: string,
  options: { defaults?: Record<string, unknown>; extra?: Record<string, unknown>[]; init?: InitSystem } = {},
): HostContext {
  const host = inventory.hosts.find((h) => h.name === name);
  if (!host) throw new Error(`test inventory has no host ${name}`);
  const os = host.os ?? "debian";
  return {
    host,
    os,
    facts: identified(os, host.name, options.init ?? "systemd"),
    vars: mergeVars(options.defaults ?? {}, host.vars, ...(options.extra ?? [])),
    inventory,
    varsOf: (other) => mergeVars(options.defaults ?? {}, other.vars, ...(options.extra ?? [])),
  };
}
