// A small mesh for the monitoring role's unit tests: an inventory written to a temp dir, and a host context for its hub.
import { hostContext, inventoryFrom } from "../context.ts";
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

export { inventoryFrom };

export const hubContext = (
  inventory: Inventory,
  extra: Record<string, unknown> = {},
  init: InitSystem = "systemd",
  name = "hub",
) =>
  hostContext(inventory, name, { defaults: monitoringDefaults, extra: [extra], init }) as HostContext & {
    vars: MonitoringVars;
  };
