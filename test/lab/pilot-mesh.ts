// A mesh on the pilot's network for lab tests, built the way the field builds it: the maintainer deploys the hub and
// the relay from the kitchen laptop, the installer enrolls each router from a laptop plugged into its LAN (192.168.8.1),
// and from then on everything is managed from the kitchen, over the mesh. No management network anywhere.
import { labUp, type Lab, type LabHostSpec } from "../../scripts/lab/index.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import { openInventoryCa } from "../../lib/pki/passphrase.ts";
import type { Play } from "../../lib/play.ts";
import type { HostRecap, TaskEvent } from "../../lib/runner/report.ts";
import { Session, type SessionOptions } from "../../lib/runner/session.ts";
import { enrollUplink, type EnrollResult } from "../../tasks/enroll/enroll.ts";
import { deployMesh } from "../../tasks/plays.ts";

type PilotCa = Awaited<ReturnType<typeof openInventoryCa>>;

export interface PilotMesh {
  lab: Lab<"pilot">;
  ca: PilotCa;
  /**
   * Runs plays from the kitchen laptop (the hub on its LAN, the rest through it over the mesh); without plays, the whole
   * mesh as tasks/deploy-hub.ts deploys it.
   */
  converge(plays?: Play[], options?: SessionOptions): Promise<{ recaps: HostRecap[]; events: TaskEvent[] }>;
  /** Enrolls the router `name` (a lab host of group uplinks) from the installer's laptop, plugged into its LAN. */
  enroll(name: string, options?: { volunteer?: string; log?: (line: string) => void }): Promise<EnrollResult>;
  /** The kitchen's first converge (the hub and relays, before any enrollment): what a test of a first deploy checks. */
  deployed: { recaps: HostRecap[]; events: TaskEvent[] };
  down(): Promise<void>;
}

/**
 * A pilot lab whose routers (group uplinks) wait, factory-fresh, for enrollment; the hub and relay are deployed from
 * the kitchen; `enroll` lists the routers to enroll now, in order (default: every one).
 */
export async function pilotMeshUp(spec: {
  hosts: LabHostSpec[];
  passphrase: string;
  enroll?: string[];
}): Promise<PilotMesh> {
  process.env.MESH_CA_PASSPHRASE = spec.passphrase;
  const lab = await labUp({
    topology: "pilot",
    hosts: spec.hosts.map((h) => (h.group === "uplinks" ? { ...h, notInInventory: true } : h)),
  });
  try {
    const ca = await openInventoryCa(loadInventory(lab.inventoryPath), { create: true });
    const converge: PilotMesh["converge"] = async (plays, options = {}) => {
      const session = new Session(loadInventory(lab.inventoryPath), {
        output: "silent",
        dial: lab.laptop("kitchen").dial,
        ...options,
      });
      try {
        const recaps: HostRecap[] = [];
        if (!plays) recaps.push(...(await deployMesh(session, ca)));
        else for (const play of plays) recaps.push(...(await session.run(play)));
        await Promise.all(ca.pending);
        return { recaps, events: session.reporter.events };
      } finally {
        await session.close();
      }
    };
    const enroll: PilotMesh["enroll"] = async (name, options = {}) => {
      const host = spec.hosts.find((h) => h.name === name && h.group === "uplinks");
      if (!host) throw new Error(`pilot mesh: ${name} is not a router of this lab (group uplinks)`);
      await lab.installer.plugInto(name);
      try {
        return await enrollUplink(
          {
            inventoryFile: lab.inventoryPath,
            address: lab.host(name).routerLanAddress ?? "192.168.8.1",
            // The node takes the lab host's name, so a test finds each in the lab and in the inventory alike.
            name,
            volunteer: { name: options.volunteer ?? `Volunteer of ${name}`, contact: `${name}@example.org` },
            bandwidth: (host.vars?.bandwidth as { up_mbit: number; down_mbit: number } | undefined) ?? {
              up_mbit: 5,
              down_mbit: 20,
            },
            askNewPassword: async () => `${name} root password`,
          },
          ca,
          options.log ?? (() => undefined),
          { dial: lab.laptop("installer").dial },
        );
      } finally {
        await lab.installer.unplug();
      }
    };
    const first = await converge();
    const broken = first.recaps.find((r) => r.failed || r.unreachable);
    if (broken) throw new Error(`pilot mesh: deploying ${broken.host} from the kitchen failed: ${broken.error}`);
    for (const name of spec.enroll ?? spec.hosts.filter((h) => h.group === "uplinks").map((h) => h.name)) {
      const result = await enroll(name);
      if (!result.hubUpdated) throw new Error(`pilot mesh: enrolling ${name}: the hub was not updated`);
    }
    return { lab, ca, converge, enroll, deployed: first, down: () => lab.down() };
  } catch (err) {
    await lab.down();
    throw err;
  }
}
