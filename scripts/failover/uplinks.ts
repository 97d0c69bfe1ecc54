// The uplinks a failover test can cut, read from the inventory: each one's tunnel on the hub and how it can die.
import { UserError } from "../../lib/errors.ts";
import type { Host, Inventory } from "../../lib/inventory/types.ts";
import { routingDefaults } from "../../roles/routing/defaults.ts";
import { tunnelPair } from "../../roles/routing/tunnel.ts";
import { CUT_KINDS, type CutKind, type UplinkInfo } from "./access.ts";

/** The hub (with its mesh IP) and every uplink with a mesh IP; an uplink with `radio_device` can also lose its radio. */
export function failoverUplinks(inventory: Inventory): { hub: Host; uplinks: UplinkInfo[] } {
  const hub = inventory.hosts.find((h) => h.group === "hub" && h.meshIp);
  if (!hub) throw new UserError(`${inventory.file} has no hub with a mesh IP`);
  const vars = { ...routingDefaults, ...inventory.vars, ...hub.vars };
  const uplinks = inventory.hosts
    .filter((h) => h.group === "uplinks" && h.meshIp)
    .map((h) => ({
      name: h.name,
      meshIp: h.meshIp!,
      dev: tunnelPair(hub.meshIp!, h.meshIp!, vars).hub.dev,
      cuts: (h.vars.radio_device ? ["line", "radio"] : ["line"]) as CutKind[],
    }));
  if (uplinks.length === 0) throw new UserError(`${inventory.file} has no uplinks: nothing to fail over between`);
  return { hub, uplinks };
}

/** --cuts "line,radio" (default: every kind the inventory's uplinks have); a radio cut needs an uplink with radio_device. */
export function cutKinds(spec: {
  text: string | undefined;
  available: CutKind[];
  file: string;
  usage?: string;
}): CutKind[] {
  if (spec.text === undefined) return spec.available;
  const kinds = spec.text.split(",").map((k) => k.trim());
  for (const k of kinds) {
    if (!CUT_KINDS.includes(k as CutKind))
      throw new UserError(`--cuts: ${JSON.stringify(k)} is not a kind of cut (${CUT_KINDS.join(", ")})`, spec.usage);
    if (!spec.available.includes(k as CutKind))
      throw new UserError(
        `--cuts ${k}: no uplink in ${spec.file} can lose its ${k} (an uplink on the radio backhaul has radio_device in the inventory)`,
      );
  }
  return [...new Set(kinds)] as CutKind[];
}
