// The pilot's network for real: three routers, all at 192.168.8.1 behind volunteers' own routers, enrolled one after
// another from the same installer's laptop, each its own node; then the maintainer at the kitchen manages the whole
// mesh over it (the hub on its LAN, everything else through the hub), and the hub, behind Starlink's carrier-grade NAT
// with no inbound address, is reached by every node: over the radio, or through the relay on its public address.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labUp, type Lab } from "../../scripts/lab/index.ts";
import { PILOT_TOPOLOGY } from "../../scripts/lab/topology.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import { Session } from "../../lib/runner/session.ts";
import { openInventoryCa } from "../../lib/pki/passphrase.ts";
import { deployMesh } from "../../tasks/plays.ts";
import { enrollUplink } from "../../tasks/enroll/enroll.ts";

const PASSPHRASE = "lab CA passphrase pilot";
const ENROLL_TIMEOUT = 240_000;
let lab: Lab<"pilot">;
let ca: Awaited<ReturnType<typeof openInventoryCa>>;
const uplinks = PILOT_TOPOLOGY.filter((h) => h.group === "uplinks");

/** The maintainer at the kitchen: the runner's connections start in the kitchen laptop's namespace. */
async function fromKitchen() {
  const session = new Session(loadInventory(lab.inventoryPath), { output: "silent", dial: lab.laptop("kitchen").dial });
  try {
    return await deployMesh(session, ca);
  } finally {
    await session.close();
  }
}

beforeAll(async () => {
  process.env.MESH_CA_PASSPHRASE = PASSPHRASE;
  lab = await labUp({
    topology: "pilot",
    hosts: PILOT_TOPOLOGY.filter((h) => h.group !== "clients").map((h) =>
      h.group === "uplinks" ? { ...h, notInInventory: true } : h,
    ),
  });
  ca = await openInventoryCa(loadInventory(lab.inventoryPath), { create: true });
}, 300_000);
afterAll(async () => {
  await lab?.down();
});

describe("the pilot's network", () => {
  it("the maintainer deploys the hub and the relay from the kitchen", async () => {
    const recaps = await fromKitchen();
    for (const r of recaps) expect([r.failed, r.unreachable], `${r.host}: ${r.error}`).toEqual([0, false]);
  }, 300_000);

  it(
    "three routers at 192.168.8.1 are enrolled one after another from the same laptop, each its own node",
    async () => {
      const seen: { name: string; meshIp: string }[] = [];
      for (const [i, spec] of uplinks.entries()) {
        await lab.installer.plugInto(spec.name);
        try {
          const result = await enrollUplink(
            {
              inventoryFile: lab.inventoryPath,
              address: "192.168.8.1",
              volunteer: { name: `Volunteer ${i + 1}`, contact: `+1 217 555 01${10 + i}` },
              bandwidth: spec.vars!.bandwidth as { up_mbit: number; down_mbit: number },
              askNewPassword: async () => `router ${i + 1} password`,
            },
            ca,
            () => undefined,
            { dial: lab.laptop("installer").dial },
          );
          // The hub learnt of it from the volunteer's home, over the mesh through the new router.
          expect(result.hubUpdated, result.name).toBe(true);
          seen.push({ name: result.name, meshIp: result.meshIp });
        } finally {
          await lab.installer.unplug();
        }
      }
      expect(new Set(seen.map((s) => s.name)).size).toBe(3);
      expect(new Set(seen.map((s) => s.meshIp)).size).toBe(3);
      const inventory = loadInventory(lab.inventoryPath);
      expect(inventory.groups.uplinks.sort()).toEqual(seen.map((s) => s.name).sort());
    },
    3 * ENROLL_TIMEOUT,
  );

  it(
    "the same router enrolled again is recognised by its host key, not its address, and stays the same node",
    async () => {
      const before = loadInventory(lab.inventoryPath)
        .hosts.filter((h) => h.group === "uplinks")
        .map((h) => `${h.name} ${h.meshIp}`);
      await lab.installer.plugInto("uplink-2");
      try {
        const log: string[] = [];
        const again = await enrollUplink(
          {
            inventoryFile: lab.inventoryPath,
            address: "192.168.8.1",
            volunteer: { name: "Volunteer 2", contact: "+1 217 555 0111" },
            bandwidth: { up_mbit: 5, down_mbit: 20 },
          },
          ca,
          (line) => log.push(line),
          { dial: lab.laptop("installer").dial },
        );
        expect(again.name, log.join("\n")).toBe("uplink-2");
        expect(again.meshIp).toBe(before.find((b) => b.startsWith("uplink-2 "))!.split(" ")[1]);
      } finally {
        await lab.installer.unplug();
      }
      expect(
        loadInventory(lab.inventoryPath)
          .hosts.filter((h) => h.group === "uplinks")
          .map((h) => `${h.name} ${h.meshIp}`),
      ).toEqual(before);
    },
    ENROLL_TIMEOUT,
  );

  it("from the kitchen, over the mesh: two converges, the second with 0 changes", async () => {
    const first = await fromKitchen();
    for (const r of first) expect([r.failed, r.unreachable], `${r.host}: ${r.error}`).toEqual([0, false]);
    const second = await fromKitchen();
    for (const r of second) expect(r.changed, r.host).toBe(0);
  }, 300_000);

  it("a home's tunnel rides the radio, a remote router's the internet: enrollment found each router's radio port", async () => {
    const inventory = loadInventory(lab.inventoryPath);
    const radioDevice = (name: string) => inventory.hosts.find((h) => h.name === name)!.vars.radio_device;
    expect(uplinks.map((u) => [u.name, radioDevice(u.name) ?? null])).toEqual(
      uplinks.map((u) => [u.name, u.site === "home" ? "radio0" : null]),
    );
    // 5 pings of 4000 bytes to the hub (fragmented in the tunnel): about 20 kB leave by the device the tunnel rides.
    // The hub's health checker's small probes (out through each uplink's WAN) add about 2 kB in that time.
    const sent = async (name: string) => {
      const out = await lab.host(name).exec(`b() { cat /sys/class/net/$1/statistics/tx_bytes 2>/dev/null || echo 0; }
r=$(b radio0); w=$(b wan0); ping -c 5 -s 4000 -W 2 10.0.4.1 >/dev/null; echo "$(( $(b radio0) - r )) $(( $(b wan0) - w ))"`);
      const [radio, wan] = out.stdout.trim().split(" ").map(Number);
      return { radio, wan };
    };
    for (const u of uplinks) {
      const bytes = await sent(u.name);
      if (u.site === "home")
        expect([bytes.radio >= 20_000, bytes.wan < 10_000], `${u.name}: ${JSON.stringify(bytes)}`).toEqual([
          true,
          true,
        ]);
      else expect(bytes.wan, `${u.name}: ${JSON.stringify(bytes)}`).toBeGreaterThanOrEqual(20_000);
    }
  });

  it("the hub has no inbound address, and every node reaches it", async () => {
    for (const h of lab.hosts.filter((x) => x.group !== "hub")) {
      const ok =
        (
          await h.exec("ping -c 1 -W 2 10.0.4.1 >/dev/null 2>&1 || ping -c 2 -W 2 10.0.4.1 >/dev/null 2>&1; echo $?")
        ).stdout.trim() === "0";
      expect(ok, h.name).toBe(true);
    }
  });
});
