// A small mesh for the monitoring role's unit tests: an inventory written to a temp dir, and a host context for its hub.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadInventory } from "../../lib/inventory/load.ts";
import { mergeVars } from "../../lib/inventory/vars.ts";
import type { HostContext } from "../../lib/play.ts";
import type { InitSystem } from "../../lib/facts/host.ts";
import type { Inventory } from "../../lib/inventory/types.ts";
import { monitoringDefaults, type MonitoringVars } from "../../roles/monitoring/defaults.ts";

export const BASE_INVENTORY = `groups:
  hub:
    hosts:
      hub: { address: 198.18.9.10, os: debian, mesh_ip: 10.0.4.1 }
  relays:
    hosts:
      relay-1: { address: 198.18.9.20, os: debian }
  uplinks:
    vars:
      bandwidth: { up_mbit: 5, down_mbit: 20 }
    hosts:
      uplink-1:
        address: 198.18.9.31
        os: openwrt
        vars: { bandwidth: { up_mbit: 10, down_mbit: 50 } }
      uplink-2: { address: 198.18.9.32, os: openwrt }
  clients:
    hosts:
      laptop-1: { address: 198.18.9.40, os: debian }
`;

export function inventoryFrom(yaml: string): Inventory {
  const dir = mkdtempSync(join(tmpdir(), "meshisp-mon-"));
  writeFileSync(join(dir, "hosts.yml"), yaml);
  return loadInventory(join(dir, "hosts.yml"));
}

export function hubContext(inventory: Inventory, extra: Record<string, unknown> = {}, init: InitSystem = "systemd", name = "hub"): HostContext & { vars: MonitoringVars } {
  const host = inventory.hosts.find((h) => h.name === name)!;
  return {
    host,
    os: host.os ?? "debian",
    facts: { os: host.os ?? "debian", init, arch: "x86_64", kernel: "6.1", hostname: host.name, pendingHandlers: [] },
    vars: mergeVars(monitoringDefaults, host.vars, extra) as MonitoringVars,
    inventory,
  };
}
