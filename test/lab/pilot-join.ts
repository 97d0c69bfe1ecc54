// A pilot lab's nodes put on the mesh with only what reaching them over it takes, the way the field does it: the hub
// from the kitchen laptop, each router from the installer's laptop plugged into its LAN (192.168.8.1); then the kitchen
// reaches every router through the hub (the inventory's ssh_via) and the same plays from there change nothing.
// Lighter than pilot-mesh.ts's pilotMeshUp (no base role, no enrollment, no hub play per router): for tests of the
// engine and of connection paths, which need the routers reachable but nothing of the mesh's own configuration.
// The routers get the nebula role and the routing role, whose fw4 include admits SSH from the hub on nebula1 (a stock
// fw4 rejects whatever arrives on an interface in no zone); the hub gets only the nebula role.
import { sh } from "../../lib/command.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import { openInventoryCa } from "../../lib/pki/passphrase.ts";
import type { Play } from "../../lib/play.ts";
import type { HostRecap } from "../../lib/runner/report.ts";
import { Session, type SessionOptions } from "../../lib/runner/session.ts";
import { nebulaRole } from "../../roles/nebula/index.ts";
import { radioPortRole } from "../../roles/radio/index.ts";
import { routingUplinkRole } from "../../roles/routing/index.ts";
import type { Lab } from "../../scripts/lab/index.ts";

export type PilotCa = Awaited<ReturnType<typeof openInventoryCa>>;

/** How long a router's tunnel may take to come up once its Nebula started (handshake over the radio, loaded machine). */
const MESH_WAIT_MS = 90_000;

const joinPlays = (ca: PilotCa): Play[] => [
  { name: "Put the hub on the mesh", hosts: ["hub"], roles: [nebulaRole(ca)] },
  // The radio port's address first (a router's radio0 has none until UCI gives it one): Nebula dials the hub's radio address.
  {
    name: "Put the routers on the mesh",
    hosts: ["uplinks"],
    roles: [radioPortRole, nebulaRole(ca), routingUplinkRole],
  },
];

/** A session of the maintainer at the kitchen: the hub on the kitchen LAN, everything else through it. */
export const kitchenSession = (lab: Lab<"pilot">, options: SessionOptions = {}) =>
  new Session(loadInventory(lab.inventoryPath), { output: "silent", dial: lab.laptop("kitchen").dial, ...options });

/** A session of the installer plugged into `router`'s LAN: the router at its LAN address, directly. */
const installerSession = (lab: Lab<"pilot">, router: string, options: SessionOptions = {}) =>
  new Session(loadInventory(lab.inventoryPath), {
    output: "silent",
    dial: lab.laptop("installer").dial,
    limit: router,
    reach: { [router]: { address: lab.host(router).routerLanAddress!, via: null } },
    ...options,
  });

async function runPlays(session: Session, plays: Play[], ca: PilotCa): Promise<HostRecap[]> {
  try {
    const recaps: HostRecap[] = [];
    for (const play of plays) recaps.push(...(await session.run(play)));
    await Promise.all(ca.pending);
    return recaps;
  } finally {
    await session.close();
  }
}

const broken = (recaps: HostRecap[], where: string) => {
  const bad = recaps.find((r) => r.failed || r.unreachable);
  if (bad) throw new Error(`pilot join: ${bad.host} ${where}: ${bad.error}`);
};

/** Waits until the kitchen reaches `name` over the mesh (a router's tunnel comes up a moment after its Nebula starts). */
export async function untilKitchenReaches(lab: Lab<"pilot">, name: string, ms = MESH_WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  let last = "";
  while (Date.now() < deadline) {
    const s = kitchenSession(lab, { connectTimeoutMs: 5_000 });
    try {
      const host = s.inventory.hosts.find((h) => h.name === name)!;
      if ((await (await s.connect(host)).run(sh`true`)).code === 0) return;
    } catch (err) {
      last = (err as Error).message;
    } finally {
      await s.close();
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  // What the next person needs to tell a tunnel that never came up from a firewall in the way.
  const router = await lab
    .host(name)
    .exec(
      "ps w | grep [n]ebula; ip -br addr show nebula1; ping -c 1 -W 2 10.0.4.1 | tail -2; logread 2>/dev/null | tail -15",
    );
  const hub = lab.hosts.find((h) => h.group === "hub")!;
  const fromHub = await hub.exec(`ping -c 1 -W 2 ${lab.host(name).meshIp} | tail -2`);
  throw new Error(
    `pilot join: the kitchen did not reach ${name} over the mesh within ${ms} ms: ${last}\n${name}:\n${router.stdout}${router.stderr}\nhub:\n${fromHub.stdout}`,
  );
}

/**
 * Puts every inventory host of groups hub and uplinks on the mesh (the routers factory-fresh or not), then converges
 * the same plays from the kitchen: the second run, which must change nothing. Returns that run's recaps.
 */
export async function joinMesh(lab: Lab<"pilot">, ca: PilotCa): Promise<HostRecap[]> {
  const plays = joinPlays(ca);
  broken(await runPlays(kitchenSession(lab), [plays[0]], ca), "from the kitchen");
  const routers = loadInventory(lab.inventoryPath).groups.uplinks ?? [];
  for (const name of routers) {
    await lab.installer.plugInto(name);
    try {
      broken(await runPlays(installerSession(lab, name), [plays[1]], ca), "from the installer's laptop on its LAN");
    } finally {
      await lab.installer.unplug();
    }
  }
  for (const name of routers) await untilKitchenReaches(lab, name);
  const again = await runPlays(kitchenSession(lab), plays, ca);
  broken(again, "from the kitchen, over the mesh");
  const changed = again.filter((r) => r.changed);
  if (changed.length)
    throw new Error(
      `pilot join: the second run (from the kitchen) changed ${changed.map((r) => `${r.host} (${r.changed})`).join(", ")}`,
    );
  return again;
}
