// Routing on the pilot's network: the hub on the kitchen LAN behind Starlink-like CGNAT (its backup tier), three OpenWrt
// routers behind volunteers' routers, each on the radio backhaul, with different donations; VXLAN tunnels over real
// Nebula (over the radio), the health checker failing over when a home's line dies and, separately, when its radio
// link dies (one uplink, all of them onto the backup, back), flows spread by donated bandwidth, the checker's metrics,
// and QoS under a saturating download. The runner runs where the maintainer sits: the kitchen laptop (the hub on its
// LAN, the routers over the mesh through it); each router's first deploy from the installer's laptop on its LAN.
// Not tests/lab/pilot-mesh.ts's pilotMeshUp: its enrollment runs the whole uplink and hub plays per router (slower
// than these plays), and writes no radio facts (radio_address, radio_subnet, radio_device) for the router, so with
// no relay it cannot find the hub behind CGNAT, and with one it joins over the internet: no radio to cut.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labUp, type Lab } from "../../scripts/lab/index.ts";
import { CGNAT } from "../../scripts/lab/pilot/plan.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import type { Inventory } from "../../lib/inventory/types.ts";
import type { Play } from "../../lib/play.ts";
import { Session } from "../../lib/runner/session.ts";
import { openInventoryCa } from "../../lib/pki/passphrase.ts";
import { baseRole } from "../../roles/base/index.ts";
import { hubRole } from "../../roles/hub/index.ts";
import { nebulaRole } from "../../roles/nebula/index.ts";
import { radioPortRole } from "../../roles/radio/index.ts";
import { routingHubRole, routingUplinkRole } from "../../roles/routing/index.ts";
import { tunnelPair } from "../../roles/routing/tunnel.ts";
import { routingDefaults } from "../../roles/routing/defaults.ts";
import { labAccess } from "../../scripts/failover/lab-access.ts";
import { formatReport, runFailoverTest } from "../../scripts/failover/scenario.ts";
import { failoverUplinks } from "../../scripts/failover/uplinks.ts";
import { untilListening } from "../helpers/poll.ts";

const PASSPHRASE = "routing lab CA passphrase";
const SERVICES = "198.51.100.10";
const BANDWIDTH = {
  "uplink-1": { up_mbit: 20, down_mbit: 100 },
  "uplink-2": { up_mbit: 5, down_mbit: 50 },
  "uplink-3": { up_mbit: 2, down_mbit: 25 },
};
const UPLINKS = Object.keys(BANDWIDTH) as (keyof typeof BANDWIDTH)[];
let lab: Lab<"pilot">;
let ca: Awaited<ReturnType<typeof openInventoryCa>>;

const plays = (): Play[] => [
  { name: "Deploy the hub", hosts: ["hub"], roles: [baseRole, nebulaRole(ca), hubRole, routingHubRole] },
  // The radio port's address first (the lab gives a router's radio0 none): Nebula dials the hub's radio address.
  { name: "Set up uplinks", hosts: ["uplinks"], roles: [baseRole, radioPortRole, nebulaRole(ca), routingUplinkRole] },
];
/** From the kitchen laptop: the hub on the kitchen LAN, the routers over the mesh through it (the inventory's ssh_via). */
async function converge(inventory: Inventory = loadInventory(lab.inventoryPath)) {
  const session = new Session(inventory, { output: "silent", dial: lab.laptop("kitchen").dial });
  const recaps = [];
  for (const play of plays()) recaps.push(...(await session.run(play)));
  await session.close();
  await Promise.all(ca.pending);
  lastChanges = session.reporter.events
    .filter((e) => e.status === "changed")
    .map((e) => `${e.host}: ${e.task}${e.diff ? `\n${e.diff}` : ""}`);
  return recaps;
}
/** What the last converge changed, for a failure's message. */
let lastChanges: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hub = () => lab.host("hub");
/** The maintainer's laptop on the kitchen LAN: the community's traffic starts there. */
const kitchen = (cmd: string) => lab.laptop("kitchen").exec(cmd);
const BACKUP_ROUTE = new RegExp(`via ${CGNAT.gateway.replace(/\./g, "\\.")} dev wan0`);
const metrics = async () => (await hub().exec("curl -s -m 2 http://10.0.4.1:9102/metrics")).stdout;
const metric = (text: string, name: string, uplink?: string) => {
  const m = new RegExp(`^${name}${uplink ? `\\{uplink="${uplink}"\\}` : ""} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
};
async function until(what: string, test: () => Promise<boolean>, seconds: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < seconds * 1000) {
    if (await test()) return (Date.now() - start) / 1000;
    await sleep(100);
  }
  throw new Error(`${what}: not within ${seconds} s`);
}
const route = async () => (await hub().exec("ip route show table 100 default")).stdout;
const devOf = (name: string) =>
  tunnelPair("10.0.4.1", loadInventory(lab.inventoryPath).hosts.find((h) => h.name === name)!.meshIp!, routingDefaults)
    .hub.dev;
const natCount = async (name: string) =>
  Number(
    /counter packets (\d+)[^\n]*masquerade/.exec(
      (await lab.host(name).exec("nft list chain ip meshisp postrouting")).stdout,
    )?.[1] ?? NaN,
  );
/** The home's line dies (the volunteer's router's WAN, in the simulated internet); the radio stays. */
const cut = (name: string) => lab.host(name).cutLine();
const uncut = (name: string) => lab.host(name).restoreLine();

beforeAll(async () => {
  process.env.MESH_CA_PASSPHRASE = PASSPHRASE;
  // The lab writes the hub's backup tier (routing_backup: Starlink's CGNAT gateway) and each router's radio facts.
  lab = await labUp({
    topology: "pilot",
    hosts: [
      { name: "hub", kind: "debian", group: "hub", vars: { routing_probe_target: SERVICES, routing_qos_lan_mbit: 8 } },
      {
        name: "uplink-1",
        kind: "openwrt",
        release: "23.05",
        group: "uplinks",
        vars: { bandwidth: BANDWIDTH["uplink-1"] },
      },
      { name: "uplink-2", kind: "openwrt", group: "uplinks", vars: { bandwidth: BANDWIDTH["uplink-2"] } },
      { name: "uplink-3", kind: "openwrt", group: "uplinks", vars: { bandwidth: BANDWIDTH["uplink-3"] } },
    ],
  });
  ca = await openInventoryCa(loadInventory(lab.inventoryPath), { create: true });
}, 600_000); // four faithful hosts (procd, fw4, per-release images) take minutes to build and boot under a shared CPU
afterAll(async () => {
  await lab?.down();
});

describe("routing over the uplinks, failover and QoS in the lab", () => {
  it("first deploy with no uplinks yet: the hub converges and sends its LAN through the backup", async () => {
    const full = loadInventory(lab.inventoryPath);
    const bare: Inventory = {
      ...full,
      hosts: full.hosts.filter((h) => h.group !== "uplinks"),
      groups: { ...full.groups, uplinks: [] },
    };
    const [recap] = await converge(bare);
    expect(recap.failed, recap.error).toBe(0);
    await until("the checker routes through the backup", async () => BACKUP_ROUTE.test(await route()), 10);
    expect((await kitchen(`ping -n -c 1 -W 2 ${SERVICES}`)).code).toBe(0);
    expect(metric(await metrics(), "meshisp_backup_active")).toBe(1);
  }, 60_000);

  it("uplinks enrolled later: a run adds their tunnels, a second run changes nothing", async () => {
    // Each router's first deploy as the installer makes it: the laptop on its LAN (192.168.8.1 in every home), the
    // router reached there directly; from then on it is reached over the mesh, from the kitchen.
    for (const name of UPLINKS) {
      await lab.installer.plugInto(name);
      try {
        const session = new Session(loadInventory(lab.inventoryPath), {
          output: "silent",
          dial: lab.laptop("installer").dial,
          reach: { [name]: { address: lab.host(name).routerLanAddress!, via: null } },
        });
        try {
          const [recap] = await session.run({ ...plays()[1], hosts: [name] });
          expect([recap.failed, recap.unreachable], `${name}: ${recap.error}`).toEqual([0, false]);
        } finally {
          await session.close();
        }
      } finally {
        await lab.installer.unplug();
      }
    }
    await Promise.all(ca.pending);
    const first = await converge();
    for (const r of first) expect(r.failed, `${r.host}: ${r.error}`).toBe(0);
    expect(first.find((r) => r.host === "hub")!.changed).toBeGreaterThan(0);
    const second = await converge();
    for (const r of second)
      expect(r.changed, `${r.host} changed on the second run:\n${lastChanges.join("\n")}`).toBe(0);
    const devs = UPLINKS.map(devOf);
    const waited = await until(
      "every uplink in the route",
      async () => {
        const r = await route();
        return devs.every((d) => r.includes(`dev ${d} `));
      },
      15,
    );
    expect(waited).toBeLessThan(15);
    // Weights follow the donated download bandwidth.
    const r = await route();
    for (const name of UPLINKS)
      expect(r).toMatch(new RegExp(`dev ${devOf(name)} weight ${BANDWIDTH[name].down_mbit}\\b`));
  }, 300_000); // three first deploys from the installer's laptop, then two converges from the kitchen

  it("the hub's LAN reaches the internet through the uplinks, not the backup", async () => {
    const backup = Number(
      /counter packets (\d+)/.exec((await hub().exec("nft list chain ip meshisp postrouting")).stdout)?.[1],
    );
    const before = await Promise.all(UPLINKS.map(natCount));
    // Ten new connections at once from one curl (-Z): one after another, a loaded lab spent over 30 s on them (a
    // process start and four Nebula wake-ups each), though every one was refused as it should be.
    const urls = Array.from({ length: 10 }, () => `http://${SERVICES}:9/`).join(" ");
    expect((await kitchen(`curl -s -Z -m 2 ${urls}; ping -n -c 2 -W 2 ${SERVICES}`)).code).toBe(0);
    const after = await Promise.all(UPLINKS.map(natCount));
    expect(after.reduce((s, n) => s + n, 0) - before.reduce((s, n) => s + n, 0)).toBeGreaterThanOrEqual(11);
    expect(
      Number(/counter packets (\d+)/.exec((await hub().exec("nft list chain ip meshisp postrouting")).stdout)?.[1]),
    ).toBe(backup);
  }, 30_000);

  it("spreads flows over the uplinks in proportion to their weights", async () => {
    // What spreads the flows is the hub's multipath route, so they are counted where it sends them: per tunnel, in the
    // hub's forward hook (before the tunnel's QoS queue and Nebula, where a burst of 900 packets on a loaded CPU can
    // lose some). A measurement during which the checker changed the route is not one of the route: it is repeated.
    const flows = 900;
    const devs = UPLINKS.map(devOf);
    const rules = devs.map((d) => `    oifname "${d}" udp dport 20001-${20000 + flows} counter\n`).join("");
    const made = await hub().exec(
      `nft -f - <<'EOF'\ntable ip routing_test_spread {\n  chain routed {\n    type filter hook forward priority -50;\n${rules}  }\n}\nEOF`,
    );
    // One round trip for everything read on the hub (a loaded lab spends a second or more on each): the counters per
    // tunnel, the checker's route switches, and where a burst can be lost after the route, for the log (each tunnel's
    // QoS queue, Nebula's tun queue).
    const hubSide = async () => {
      const out = (
        await hub().exec(
          `nft list chain ip routing_test_spread routed; for d in ${devs.join(" ")}; do echo "qdisc drops $d $(tc -s qdisc show dev $d | grep -o 'dropped [0-9]*' | awk '{ s += $2 } END { print s + 0 }')"; done; echo "nebula1 tx drops $(ip -s link show nebula1 | awk 'f { print $4; exit } /TX:/ { f = 1 }')"; curl -s -m 2 http://10.0.4.1:9102/metrics | grep '^meshisp_failover_switches_total'`,
        )
      ).stdout;
      return {
        routed: devs.map((d) =>
          Number(new RegExp(`oifname "${d}"[^\\n]*counter packets (\\d+)`).exec(out)?.[1] ?? NaN),
        ),
        switches: metric(out, "meshisp_failover_switches_total"),
        drops: [...out.matchAll(/^(qdisc drops \S+|nebula1 tx drops) (\d+)$/gm)]
          .map((m) => `${m[1]} ${m[2]}`)
          .join(", "),
      };
    };
    try {
      expect(made.code, made.stderr).toBe(0);
      let counts: number[] = [];
      let nat: number[] = [];
      for (let attempt = 1; ; attempt++) {
        await until(
          "every uplink in the route",
          async () => {
            const r = await route();
            return devs.every((d) => r.includes(`dev ${d} `));
          },
          10,
        );
        const [before, natBefore] = await Promise.all([hubSide(), Promise.all(UPLINKS.map(natCount))]);
        await kitchen(`bash -c 'for p in $(seq 20001 ${20000 + flows}); do echo x > /dev/udp/${SERVICES}/$p; done'`);
        const [after, natAfter] = await Promise.all([hubSide(), Promise.all(UPLINKS.map(natCount))]);
        counts = after.routed.map((n, i) => n - before.routed[i]);
        nat = natAfter.map((n, i) => n - natBefore[i]);
        console.log(
          `spread attempt ${attempt}: per tunnel ${counts.join("/")}, masqueraded at the uplinks ${nat.join("/")}; on the hub before: ${before.drops}; after: ${after.drops}; route switches ${after.switches - before.switches}`,
        );
        if (after.switches === before.switches) break;
        expect(attempt, "the checker changed the route during every measurement").toBeLessThan(3);
      }
      const total = counts.reduce((s, n) => s + n, 0);
      expect(total).toBe(flows);
      const weights = UPLINKS.map((n) => BANDWIDTH[n].down_mbit);
      const sum = weights.reduce((s, w) => s + w, 0);
      const shares = counts.map((n) => n / total);
      console.log(
        `flows per uplink: ${UPLINKS.map((n, i) => `${n} ${counts[i]} (${(shares[i] * 100).toFixed(1)}%, weight ${((weights[i] / sum) * 100).toFixed(1)}%)`).join(", ")}`,
      );
      shares.forEach((s, i) => expect(Math.abs(s - weights[i] / sum), UPLINKS[i]).toBeLessThan(0.07));
      // And out they went: every uplink masqueraded flows of its share.
      nat.forEach((n, i) => expect(n, `${UPLINKS[i]} masqueraded none of its ${counts[i]} flows`).toBeGreaterThan(0));
    } finally {
      await hub().exec("nft delete table ip routing_test_spread");
    }
  }, 120_000); // two readings of four hosts and 900 sends: over 60 s with the shared CPU at load 10-15

  it("metrics follow the uplinks: one down, all down on the backup, back up", async () => {
    const start = metric(await metrics(), "meshisp_failover_switches_total");
    // A cut left behind by a failure here would break every later test: each is removed however this ends.
    let down = NaN;
    try {
      await cut("uplink-2");
      down = await until(
        "uplink-2 down in the metrics",
        async () => metric(await metrics(), "meshisp_uplink_up", "uplink-2") === 0,
        3,
      );
      let m = await metrics();
      expect(metric(m, "meshisp_uplink_up", "uplink-1")).toBe(1);
      expect(metric(m, "meshisp_uplink_up", "uplink-3")).toBe(1);
      expect(metric(m, "meshisp_backup_active")).toBe(0);
      expect(metric(m, "meshisp_uplink_weight", "uplink-2")).toBe(50);
      expect(metric(m, "meshisp_uplink_rtt_seconds", "uplink-1")).toBeGreaterThan(0);
      expect(metric(m, "meshisp_uplink_rtt_seconds", "uplink-1")).toBeLessThan(0.3);
      await cut("uplink-1");
      await cut("uplink-3");
      await until(
        "the backup active in the metrics",
        async () => metric(await metrics(), "meshisp_backup_active") === 1,
        3,
      );
      m = await metrics();
      for (const name of UPLINKS) expect(metric(m, "meshisp_uplink_up", name), name).toBe(0);
      expect(BACKUP_ROUTE.test(await route())).toBe(true);
    } finally {
      for (const name of UPLINKS) await uncut(name);
    }
    const everyUp = async () => {
      const t = await metrics();
      return UPLINKS.every((n) => metric(t, "meshisp_uplink_up", n) === 1) && metric(t, "meshisp_backup_active") === 0;
    };
    const back = await until("every uplink up again", everyUp, 5);
    // uplink-2 out, then the others one by one or together onto the backup, then back: at least three switches.
    expect(metric(await metrics(), "meshisp_failover_switches_total") - start).toBeGreaterThanOrEqual(3);
    // The radio link dies instead (its Nebula tunnel to the hub with it): the same uplink leaves, the others stay.
    let radioDown = NaN;
    try {
      await lab.host("uplink-2").cutRadio();
      radioDown = await until(
        "uplink-2 down in the metrics after its radio died",
        async () => metric(await metrics(), "meshisp_uplink_up", "uplink-2") === 0,
        3,
      );
      const m = await metrics();
      expect(metric(m, "meshisp_uplink_up", "uplink-1")).toBe(1);
      expect(metric(m, "meshisp_uplink_up", "uplink-3")).toBe(1);
      expect(metric(m, "meshisp_backup_active")).toBe(0);
    } finally {
      await lab.host("uplink-2").restoreRadio();
    }
    const radioBack = await until("every uplink up again after the radio", everyUp, 15);
    console.log(
      `metrics: uplink-2 seen down after ${down.toFixed(2)} s, all back after ${back.toFixed(2)} s; radio cut: down after ${radioDown.toFixed(2)} s, back ${radioBack.toFixed(2)} s after the radio returned`,
    );
  }, 90_000);

  it("scripts/test-failover, line cuts in the lab's wiring: new connections within 3 s, the backup carries all-down, an uplink takes over again", async () => {
    const inventory = loadInventory(lab.inventoryPath);
    const { uplinks } = failoverUplinks(inventory);
    // Every router here sits on the radio: the lab wrote its radio_device.
    expect(uplinks.map((u) => `${u.name} ${u.dev} ${u.cuts.join("+")}`)).toEqual(
      UPLINKS.map((n) => `${n} ${devOf(n)} line+radio`),
    );
    const access = (await labAccess(inventory, uplinks))!;
    const switches = metric(await metrics(), "meshisp_failover_switches_total");
    const report = await runFailoverTest(access, { kinds: ["line"] });
    console.log(formatReport(report));
    expect(report.ok, formatReport(report)).toBe(true);
    expect(report.cuts.map((c) => `${c.uplink} ${c.kind}`)).toEqual(UPLINKS.map((n) => `${n} line`));
    for (const c of report.cuts) {
      expect(c.newConnections, c.uplink).not.toBeNull();
      expect(c.newConnections!, c.uplink).toBeLessThanOrEqual(3);
      expect(c.recovery!, c.uplink).toBeLessThanOrEqual(5);
    }
    // The ping flow follows one uplink: cutting it loses some pings, never more than 3 s of them.
    const lost = report.cuts.map((c) => c.pingsLost);
    expect(Math.max(...lost)).toBeGreaterThan(0);
    expect(Math.max(...lost)).toBeLessThan(150);
    expect(report.backups.map((b) => [b.kind, b.viaBackup, b.leftBackup])).toEqual([["line", true, true]]);
    expect(metric(await metrics(), "meshisp_failover_switches_total") - switches).toBeGreaterThanOrEqual(8);
    // Everything the script cut is back: no port left in the lab's cut sets.
    expect((await lab.internet.exec("nft list set bridge labcut ports")).stdout).not.toContain("elements");
  }, 150_000);

  it("scripts/test-failover --live --cuts radio from the kitchen laptop: the field's radio cut (a drop each router lifts itself) on every router, then all", async () => {
    // As a maintainer runs it at the kitchen: the CLI in the laptop's namespace, the routers over the mesh, each cut an
    // nft drop on the router's radio port that the router removes by itself (nothing can reach it while it is cut).
    const www = `${lab.dir}/live-www`;
    const web = await lab.services.exec(
      `mkdir -p ${www} && echo ok > ${www}/index.html && { busybox httpd -f -p ${SERVICES}:8081 -h ${www} </dev/null >/dev/null 2>&1 & echo $!; }`,
    );
    const webPid = web.stdout.trim();
    const switches = metric(await metrics(), "meshisp_failover_switches_total");
    try {
      const args = [
        "-i",
        lab.inventoryPath,
        "--live",
        "--cuts",
        "radio",
        "--url",
        `http://${SERVICES}:8081/`,
        "--ping",
        SERVICES,
        "--radio-cut-seconds",
        "6",
      ];
      const out = await lab
        .laptop("kitchen")
        .exec(`cd ${process.cwd()} && npx tsx scripts/test-failover.ts ${args.map((a) => `'${a}'`).join(" ")} 2>&1`);
      console.log(out.stdout);
      expect(out.code, out.stdout).toBe(0);
      expect(out.stdout).toContain("live mesh");
      for (const name of UPLINKS) expect(out.stdout).toMatch(new RegExp(`^${name} radio `, "m"));
      expect(out.stdout).toMatch(/^all \(radio\).*through the backup: yes; back on an uplink: yes/m);
    } finally {
      if (/^\d+$/.test(webPid)) await lab.services.exec(`kill ${webPid}`);
    }
    expect(metric(await metrics(), "meshisp_failover_switches_total") - switches).toBeGreaterThanOrEqual(8);
    // Each router lifted its own cut: no drop table left, and every uplink back in the hub's route.
    for (const name of UPLINKS)
      expect((await lab.host(name).exec("nft list tables")).stdout, name).not.toContain("meshisp_failover_radio");
    await until(
      "every uplink back in the route",
      async () => {
        const r = await route();
        return UPLINKS.every((n) => r.includes(devOf(n)));
      },
      15,
    );
  }, 180_000);

  it("QoS: a voice-class ping stays fast while a bulk download saturates the hub's LAN", async () => {
    const pidfile = `${lab.dir}/qos-iperf.pid`;
    await lab.services.exec(`iperf3 -s -D -1 -p 5201 --pidfile ${pidfile}`);
    await untilListening(lab.services, 5201);
    const bulk = kitchen(`iperf3 -c ${SERVICES} -R -P 4 -t 8 -f k`);
    // Not a wait for a condition: the pings sample the download's steady middle (2-5 s of its 8 s), not its ramp.
    await sleep(2000);
    const ping = (flags: string) => kitchen(`ping -n -q ${flags} -i 0.1 -c 30 ${SERVICES}`);
    const [ef, plain] = await Promise.all([ping("-Q 0xb8"), ping("-s 1000")]);
    const download = await bulk;
    const avg = (out: string) => Number(/= [\d.]+\/([\d.]+)\//.exec(out)?.[1]);
    const kbit = Number(/([\d.]+) Kbits\/sec\s+receiver/.exec(download.stdout.split("[SUM]").pop() ?? "")?.[1]);
    console.log(
      `QoS: download ${kbit} kbit/s on an 8 Mbit/s LAN; EF ping ${avg(ef.stdout)} ms, default-class ping ${avg(plain.stdout)} ms`,
    );
    // The download fills the shaped LAN (95% of 8 Mbit/s, less headers) ...
    expect(kbit).toBeGreaterThan(6000);
    expect(kbit).toBeLessThan(8000);
    // ... so the default class queues (tens of ms), while the interactive class does not.
    expect(avg(plain.stdout)).toBeGreaterThan(20);
    expect(avg(ef.stdout)).toBeLessThan(avg(plain.stdout) / 4);
    const classes = (await hub().exec("tc -s class show dev lan0")).stdout;
    expect(Number(/class htb 1:20 [^\n]*\n\s*Sent \d+ bytes (\d+) pkt/.exec(classes)?.[1])).toBeGreaterThanOrEqual(30);
  }, 60_000);

  it("QoS toward an uplink: a voice-class ping stays fast while a bulk-class UDP flood fills the uplink's tunnel", async () => {
    // Only uplink-2 (5 Mbit/s up) left: the hub shapes its tunnel at 95% of that.
    await cut("uplink-1");
    await cut("uplink-3");
    await until(
      "only uplink-2 in the route",
      async () => {
        const r = await route();
        return (
          r.includes(`dev ${devOf("uplink-2")}`) &&
          !r.includes(`dev ${devOf("uplink-1")} `) &&
          !r.includes(`dev ${devOf("uplink-3")} `)
        );
      },
      5,
    );
    try {
      const pidfile = `${lab.dir}/qos-up-iperf.pid`;
      await lab.services.exec(`iperf3 -s -D -1 -p 5202 --pidfile ${pidfile}`);
      await untilListening(lab.services, 5202);
      // UDP at twice the donation, marked bulk (CS1): that class's queue is full the whole time.
      const bulk = kitchen(`iperf3 -c ${SERVICES} -p 5202 -u -b 10M -l 1150 --tos 0x20 -t 8 -f k`);
      // The pings sample the flood's steady middle, not its start (as above).
      await sleep(2000);
      const ping = (flags: string) => kitchen(`ping -n -q ${flags} -i 0.1 -c 30 ${SERVICES}`);
      const [ef, plain] = await Promise.all([ping("-Q 0xb8"), ping("-Q 0x20 -s 1000")]);
      const upload = await bulk;
      const avg = (out: string) => Number(/= [\d.]+\/([\d.]+)\//.exec(out)?.[1]);
      const kbit = Number(/([\d.]+) Kbits\/sec[^\n]*receiver/.exec(upload.stdout)?.[1]);
      console.log(
        `QoS up: bulk UDP ${kbit} kbit/s arriving through uplink-2 (5 Mbit/s donated); EF ping ${avg(ef.stdout)} ms, bulk-class ping ${avg(plain.stdout)} ms`,
      );
      expect(upload.code, `iperf3: ${upload.stdout.slice(-600)}${upload.stderr}`).toBe(0);
      // What arrives is the cap (95% of 5 Mbit/s, less the tunnel's Ethernet header), not the 10 Mbit/s sent.
      expect(kbit).toBeGreaterThan(4000);
      expect(kbit).toBeLessThan(5000);
      expect(avg(plain.stdout)).toBeGreaterThan(20);
      expect(avg(ef.stdout)).toBeLessThan(avg(plain.stdout) / 4);
    } finally {
      await uncut("uplink-1");
      await uncut("uplink-3");
    }
    await until(
      "every uplink back",
      async () => {
        const r = await route();
        return UPLINKS.every((n) => r.includes(`dev ${devOf(n)} `));
      },
      5,
    );
  }, 60_000);

  it("after a reboot the boot scripts put the routing back, and the runner then finds nothing to change", async () => {
    // uplink-3 really power-cycles (its kernel forgets tunnels, tables and qdiscs; the flash stays): on a router nobody
    // logs into, its boot service alone (an old-style start(), S94) must bring back the tunnel and table ip meshisp.
    const uplink = lab.host("uplink-3");
    const rebooted = uplink.reboot();
    // The hub (Debian) meanwhile loses what a reboot takes, and its boot script is run as its boot would.
    const rules = "for p in 1000 1000 1000 1010 1010 1011 1011; do ip rule del priority $p; done";
    await hub().exec(
      `nft delete table ip meshisp; for d in ${UPLINKS.map(devOf).join(" ")}; do ip link del $d; done; ${rules}; tc qdisc del dev lan0 root`,
    );
    await until("the hub on the backup", async () => BACKUP_ROUTE.test(await route()), 5);
    expect((await hub().exec("/etc/init.d/meshisp-routing start")).code).toBe(0);
    const { ms } = await rebooted;
    const booted = await until(
      "uplink-3's boot service put its tunnel and table ip meshisp back",
      async () =>
        (await uplink.exec("ip link show mu-hub >/dev/null 2>&1 && nft list table ip meshisp >/dev/null 2>&1")).code ===
        0,
      30,
    );
    // In the route means the checker's probes through its tunnel are answered: masqueraded out of its WAN again.
    const back = await until(
      "every uplink in the route again",
      async () => {
        const r = await route();
        return UPLINKS.every((n) => r.includes(`dev ${devOf(n)} `));
      },
      60,
    );
    console.log(
      `reboot: uplink-3 answered SSH after ${ms} ms, its routing there ${booted.toFixed(1)} s later, every uplink in the hub's route ${back.toFixed(1)} s after that`,
    );
    expect((await kitchen(`ping -n -c 1 -W 2 ${SERVICES}`)).code).toBe(0);
    for (const r of await converge()) expect(r.changed, `${r.host} changed after the boot script`).toBe(0);
    // Run again (a service restart), it leaves a set-up host alone.
    const again = (await hub().exec("/etc/init.d/meshisp-routing start; ip rule | grep -c 'lookup 100$'")).stdout;
    expect(again).toContain("routing already set up");
    expect(again.trim().split("\n").pop()).toBe("2"); // the LAN's and the mesh clients', once each
  }, 180_000);
});
