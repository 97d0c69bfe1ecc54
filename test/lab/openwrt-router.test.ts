// Uplinks on faithful OpenWrt 23.05 and 24.10 lab routers (fw4, procd, dropbear, sysupgrade) on the pilot's network:
// each at a home on the radio, enrolled from the installer's laptop on its LAN (pilotMeshUp), then managed from the
// kitchen over the mesh. The hub's checker sees each one up through fw4, the hub scrapes its Nebula stats, `fw4 reload`
// keeps that, a reboot brings routing back and a converge changes nothing, and after a sysupgrade the router returns
// to the mesh by itself (timed), then converges.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Lab } from "../../scripts/lab/index.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import { pilotMeshUp, type PilotMesh } from "./pilot-mesh.ts";

const PASSPHRASE = "openwrt router lab CA";
const SERVICES = "198.51.100.10";
const ROUTERS = [
  { name: "uplink-2305", release: "23.05" as const },
  { name: "uplink-2410", release: "24.10" as const },
];
let mesh: PilotMesh;
let lab: Lab<"pilot">;

/** The whole mesh from the kitchen laptop: the hub on its LAN, the routers through it over the mesh. */
const converge = async () => (await mesh.converge()).recaps;
const quiet = (recaps: Awaited<ReturnType<typeof converge>>) => {
  for (const r of recaps) {
    expect(r.failed, `${r.host}: ${r.error ?? ""}`).toBe(0);
    expect(r.changed, r.host).toBe(0);
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, test: () => Promise<boolean>, seconds: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < seconds * 1000) {
    if (await test()) return (Date.now() - start) / 1000;
    await sleep(250);
  }
  throw new Error(`${what}: not within ${seconds} s`);
}
const meshIp = (name: string) => loadInventory(lab.inventoryPath).hosts.find((h) => h.name === name)!.meshIp!;
const hub = () => lab.host("hub");
/** The hub's checker: 1 when its probes through this uplink's VXLAN tunnel (udp 4789 through fw4) come back. */
const checkerUp = async (name: string) =>
  / 1$/m.test(
    (await hub().exec(`curl -s -m 2 http://10.0.4.1:9102/metrics | grep '^meshisp_uplink_up{uplink="${name}"}'`))
      .stdout,
  );
/** What Prometheus scrapes: the uplink's Nebula stats on its mesh address (tcp 9101 through fw4). */
const statsScraped = async (name: string) =>
  (await hub().exec(`curl -s -m 2 http://${meshIp(name)}:9101/metrics`)).stdout.includes("nebula_");
const meshBack = async (name: string) => (await checkerUp(name)) && (await statsScraped(name));

beforeAll(async () => {
  mesh = await pilotMeshUp({
    passphrase: PASSPHRASE,
    hosts: [
      { name: "hub", kind: "debian", group: "hub", vars: { routing_probe_target: SERVICES } },
      ...ROUTERS.map((r) => ({
        name: r.name,
        kind: "openwrt" as const,
        group: "uplinks",
        release: r.release,
        vars: { bandwidth: { up_mbit: 5, down_mbit: 20 } },
      })),
    ],
  });
  lab = mesh.lab;
  // Enrollment converged each router from its LAN; the kitchen's first run over the mesh settles the rest.
  const first = await converge();
  for (const r of first) expect([r.failed, r.unreachable], `${r.host}: ${r.error ?? ""}`).toEqual([0, false]);
}, 600_000);
afterAll(async () => {
  await mesh?.down();
}, 120_000);

it("a second converge from the kitchen reaches both routers over the mesh and changes nothing, on either release", async () => {
  const recaps = await converge();
  expect(recaps.map((r) => r.host).sort()).toEqual(["hub", ...ROUTERS.map((r) => r.name)].sort());
  quiet(recaps);
}, 300_000);

describe.each(ROUTERS)("OpenWrt $release ($name)", ({ name }) => {
  it("the hub's checker sees it up and the hub scrapes its Nebula stats, through fw4", async () => {
    await until(`${name} up and scraped`, () => meshBack(name), 60);
    // fw4 is really in the way: without our include, its input chain rejects the scrape.
    const r = await lab.host(name).exec("fw4 print | grep -c meshisp");
    expect(Number(r.stdout.trim())).toBeGreaterThan(0);
  }, 120_000);

  it("fw4 reload keeps the mesh admitted (and table ip meshisp)", async () => {
    expect((await lab.host(name).exec("fw4 reload")).code).toBe(0);
    expect((await lab.host(name).exec("nft list table ip meshisp >/dev/null && echo ok")).stdout.trim()).toBe("ok");
    await until(`${name} still up after fw4 reload`, () => meshBack(name), 30);
  }, 60_000);
});

// Both routers are power-cycled (and then upgraded) at once: one converge afterwards checks both.
it("a reboot brings routing back by itself on both releases, and a converge then changes nothing", async () => {
  await Promise.all(
    ROUTERS.map(async ({ name }) => {
      const { ms } = await lab.host(name).reboot();
      const back = await until(`${name} back after reboot`, () => meshBack(name), 120);
      console.log(`${name}: reboot ${ms} ms to SSH, back on the mesh ${back.toFixed(1)} s later`);
    }),
  );
  quiet(await converge());
}, 300_000);

it("after a sysupgrade each router returns to the mesh by itself, then a converge (no manual step) settles and a second changes nothing", async () => {
  await Promise.all(
    ROUTERS.map(async ({ name }) => {
      const started = Date.now();
      const { ms } = await lab.host(name).sysupgrade();
      const back = await until(`${name} back after sysupgrade`, () => meshBack(name), 300);
      console.log(
        `${name}: sysupgrade ${ms} ms to SSH, back on the mesh ${back.toFixed(1)} s later (${((Date.now() - started) / 1000).toFixed(1)} s in all)`,
      );
      const restoreLog = (await lab.host(name).exec("logread -e meshisp-restore")).stdout;
      expect(restoreLog).toMatch(/packages missing/);
    }),
  );
  const after = await converge();
  for (const r of after) expect(r.failed, `${r.host}: ${r.error ?? ""}`).toBe(0);
  console.log(`converge after sysupgrade: ${after.map((r) => `${r.host} ${r.changed} changed`).join(", ")}`);
  quiet(await converge());
}, 600_000);
