// Lists a home's router in the pilot lab's inventory with its radio facts before it is enrolled, as the maintainer
// records a home from the site survey. Enrollment writes no radio_address (it asks for none) and the lab writes the
// network's facts only for hosts it lists: without them an enrolled router finds the hub only through a relay's
// lighthouse (over the home's line, twice per byte), and with no relay not at all ("cannot find the hub").
import { addMeshHost } from "../../lib/inventory/edit.ts";
import type { Lab } from "../../scripts/lab/index.ts";
import { RADIO_SUBNET, ROUTER_LAN } from "../../scripts/lab/pilot/plan.ts";

/** Adds `name` (a router at a home site) to group uplinks, without address, with the vars the lab writes for a listed router. */
export async function listHomeRouter(lab: Lab<"pilot">, name: string, vars: Record<string, unknown> = {}): Promise<void> {
  const h = lab.host(name);
  if (!h.radioAddress) throw new Error(`lab host ${name} is on no radio (site ${h.site}): only a home's router has radio facts to list`);
  await addMeshHost(lab.inventoryPath, "uplinks", name, {
    os: "openwrt",
    vars: { wan_address: h.wanAddress, radio_address: h.radioAddress, radio_subnet: RADIO_SUBNET, radio_device: "radio0", lan_subnet: ROUTER_LAN.subnet, ...vars },
  });
}
