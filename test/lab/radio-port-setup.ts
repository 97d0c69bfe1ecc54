// A router the lab's inventory lists gets its radio port's address the way the field gives it: the radio-port role run
// from the installer's laptop plugged into its LAN (the lab gives a router's radio0 no address, as nobody does on a
// real router; the role writes the UCI interface and netifd applies it, at every boot too).
import type { Lab } from "../../scripts/lab/index.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import { Session } from "../../lib/runner/session.ts";
import { radioPortRole } from "../../roles/radio/index.ts";

export async function configureRadioPort(lab: Lab<"pilot">, name: string): Promise<void> {
  await lab.installer.plugInto(name);
  try {
    const session = new Session(loadInventory(lab.inventoryPath), {
      output: "silent",
      dial: lab.laptop("installer").dial,
      reach: { [name]: { address: lab.host(name).routerLanAddress!, via: null } },
    });
    try {
      const [recap] = await session.run({ name: "The radio port", hosts: [name], roles: [radioPortRole] });
      if (recap.failed || recap.unreachable) throw new Error(`radio port of ${name}: ${recap.error}`);
    } finally {
      await session.close();
    }
  } finally {
    await lab.installer.unplug();
  }
}
