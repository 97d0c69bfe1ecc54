// The hub's local services on the pilot's network: the DNS cache (dnsmasq, deployed by the dns role) answers local and
// mesh names on the kitchen LAN and over the mesh, with the internet cut (every home's line and the hub's Starlink);
// scripts/test-local-services.ts, run from the kitchen laptop, passes for what runs live here and fails, by name, for
// what is declared but not running. Converged twice from the kitchen: the second run changes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import type { Lab } from "../../scripts/lab/index.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import { addMeshHost } from "../../lib/inventory/edit.ts";
import { hubPlay } from "../../tasks/plays.ts";
import { STACK_SERVICES } from "../../roles/docker/compose.ts";
import { waitFor } from "../helpers/poll.ts";
import { pilotMeshUp, type PilotMesh } from "./pilot-mesh.ts";

const PASSPHRASE = "lab CA passphrase services";
const INTERNET_DNS = "198.51.100.10";
// Native stand-ins for the stack in the lab (no images can be pulled here): dnsmasq by the dns role; PostgreSQL,
// Redis and the node exporter started by this test from Debian's packages. The four apps and cAdvisor exist only as images.
const NATIVE = ["dns", "postgres", "redis", "node-exporter"];
let mesh: PilotMesh;
let lab: Lab<"pilot">;
let internetDnsPid = 0;

const converge = async () => {
  const { recaps, events } = await mesh.converge();
  return {
    recaps,
    changed: events.filter((e) => e.status === "changed").map((e) => `${e.host}: ${e.task} (${e.summary ?? ""})`),
  };
};

/** The script as the maintainer runs it: in the kitchen laptop's namespace, where the hub is on the LAN. */
function script(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      "ip",
      [
        "netns",
        "exec",
        lab.laptop("kitchen").netns,
        "npx",
        "tsx",
        "scripts/test-local-services.ts",
        "-i",
        lab.inventoryPath,
        ...args,
      ],
      { env: process.env },
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ code, out }));
  });
}

// The kitchen LAN's device (a neighbour's phone on the hub's LAN) asks the hub.
const dig = async (name: string, server: string) =>
  (await lab.host("hub").execLan(`dig +short +time=2 +tries=1 A ${name} @${server}`)).stdout.trim();
// The internet cut on the pilot: the hub's own Starlink and every home's line (its tunnel rides the radio and stays).
const lines = () => lab.hosts.filter((h) => h.group === "hub" || h.group === "uplinks");

beforeAll(async () => {
  // No relay: the hub (behind Starlink) is found over the radio, whose port enrollment finds on the router.
  mesh = await pilotMeshUp({
    passphrase: PASSPHRASE,
    hosts: [
      {
        name: "hub",
        kind: "debian",
        group: "hub",
        vars: { dns_forwarders: [INTERNET_DNS], docker_native_services: NATIVE },
      },
      { name: "uplink-1", kind: "openwrt", group: "uplinks", vars: { bandwidth: { up_mbit: 5, down_mbit: 20 } } },
    ],
  });
  lab = mesh.lab;
  // The simulated internet's resolver: answers *.example.org for ten minutes (so the hub's cache keeps it).
  const started = await lab.services.exec(
    `dnsmasq --conf-file=/dev/null --no-resolv --no-hosts --listen-address=${INTERNET_DNS} --bind-interfaces --address=/example.org/${INTERNET_DNS} --local-ttl=600 --user=nobody --group=nogroup --pid-file=${lab.dir}/internet-dns.pid && cat ${lab.dir}/internet-dns.pid`,
  );
  expect(started.code, started.stderr).toBe(0);
  internetDnsPid = Number(started.stdout.trim());
}, 600_000); // faithful OpenWrt hosts take minutes to build and boot under a shared CPU; the hub's deploy and an enrollment follow

afterAll(async () => {
  if (internetDnsPid > 0) process.kill(internetDnsPid, "SIGTERM");
  await mesh?.down();
});

describe("the hub's local services on the pilot's network", () => {
  it("deploys the hub (with its DNS cache) and an uplink; a second run changes nothing", async () => {
    // The hub's first deploy from the kitchen (before the router's enrollment) wrote the DNS cache.
    const deployed = mesh.deployed.events
      .filter((e) => e.status === "changed")
      .map((e) => `${e.host}: ${e.task} (${e.summary ?? ""})`);
    expect(deployed.filter((t) => /mesh-dns|dnsmasq\.conf|mesh\.hosts/.test(t)).length).toBeGreaterThanOrEqual(4);
    const first = await converge();
    for (const r of first.recaps) expect([r.failed, r.unreachable], `${r.host}: ${r.error}`).toEqual([0, false]);
    expect(first.recaps.map((r) => r.host).sort()).toEqual(["hub", "uplink-1"]);
    const second = await converge();
    expect(second.changed, "the second run changes nothing").toEqual([]);
    for (const r of second.recaps) expect(r.changed, r.host).toBe(0);
    const running = await lab.host("hub").exec("/etc/init.d/mesh-dns running && echo yes");
    expect(running.stdout.trim()).toBe("yes");
  }, 300_000);

  it("answers local names on the LAN and mesh nodes by name, and forwards the rest", async () => {
    expect(await dig("hub.mesh", "10.42.0.1")).toBe("10.42.0.1");
    expect(await dig("barter.mesh", "10.42.0.1")).toBe("10.42.0.1");
    expect(await dig("uplink-1.mesh", "10.42.0.1")).toBe("10.0.4.65");
    expect(await dig("example.org", "10.42.0.1")).toBe(INTERNET_DNS);
    expect(await dig("no-such-node.mesh", "10.42.0.1")).toBe("");
  });

  it("answers a mesh node's queries over the tunnel with the hub's mesh address", async () => {
    const uplink = lab.host("uplink-1");
    let up = false;
    for (let i = 0; i < 20 && !up; i++)
      up = (await uplink.exec("ping -c 1 -W 1 10.0.4.1 >/dev/null 2>&1 && echo up")).stdout.includes("up");
    expect(up, "the uplink reaches the hub over the mesh").toBe(true);
    const barter = await uplink.exec("nslookup barter.mesh 10.0.4.1");
    expect(barter.stdout).toMatch(/Address:?\s+10\.0\.4\.1\b(?!:)/);
    expect(barter.stdout).not.toContain("10.42.0.1");
    expect((await uplink.exec("nslookup uplink-1.mesh 10.0.4.1")).stdout).toContain("10.0.4.65");
  });

  it("keeps answering with the internet cut (the hub's Starlink and every home's line): local names, nodes, and cached names", async () => {
    for (const h of lines()) await h.cutLine();
    try {
      expect(
        (await lab.host("hub").exec(`ping -c 1 -W 1 ${INTERNET_DNS} >/dev/null 2>&1; echo $?`)).stdout.trim(),
      ).not.toBe("0");
      expect(await dig("hub.mesh", "10.42.0.1")).toBe("10.42.0.1");
      expect(await dig("credit.mesh", "10.42.0.1")).toBe("10.42.0.1");
      expect(await dig("uplink-1.mesh", "10.42.0.1")).toBe("10.0.4.65");
      expect(await dig("example.org", "10.42.0.1"), "answered from the cache").toBe(INTERNET_DNS);
      // A name never asked before cannot be answered: the cut is real.
      expect(await dig("fresh.example.org", "10.42.0.1")).not.toContain(INTERNET_DNS);
    } finally {
      for (const h of lines()) await h.restoreLine();
    }
  });

  it("learns a newly enrolled node's name when the hub play runs again", async () => {
    // As enrollment writes a router: no address of its own (the kitchen reaches it at its mesh IP, through the hub).
    await addMeshHost(lab.inventoryPath, "uplinks", "uplink-7", { os: "openwrt" });
    const newIp = loadInventory(lab.inventoryPath).hosts.find((h) => h.name === "uplink-7")!.meshIp!;
    const { recaps } = await mesh.converge([hubPlay(mesh.ca)]);
    const hub = recaps.find((r) => r.host === "hub")!;
    expect(hub.failed, hub.error).toBe(0);
    expect(await dig("uplink-7.mesh", "10.42.0.1")).toBe(newIp);
  });

  it("test-local-services passes for what runs live, with and without the internet cut, and cleans up", async () => {
    // Stand-ins for the stack's PostgreSQL, Redis and node exporter, from Debian's packages, inside the hub.
    const hub = lab.host("hub");
    const pg = await hub.exec(
      `su postgres -s /bin/sh -c '/usr/lib/postgresql/15/bin/initdb -D /tmp/pgdata -A trust >/tmp/initdb.log 2>&1 && /usr/lib/postgresql/15/bin/pg_ctl -D /tmp/pgdata -o "-c listen_addresses=127.0.0.1 -k /tmp" -l /tmp/pg.log -w start >/dev/null'`,
    );
    expect(pg.code, pg.stderr).toBe(0);
    expect(
      (
        await hub.exec(
          "redis-server --bind 127.0.0.1 --port 6379 --save '' --daemonize yes --pidfile /run/redis-lab.pid",
        )
      ).code,
    ).toBe(0);
    if ((await hub.exec("wget -q -T 2 -O /dev/null http://10.0.4.1:9100/metrics")).code !== 0) {
      await hub.exec(
        "setsid prometheus-node-exporter --web.listen-address=10.0.4.1:9100 >/tmp/node-exporter.log 2>&1 < /dev/null &",
      );
      await waitFor(
        "the node exporter answering on 10.0.4.1:9100",
        async () => (await hub.exec("wget -q -T 1 -O /dev/null http://10.0.4.1:9100/metrics")).code === 0,
        { timeoutMs: 15_000, everyMs: 200 },
      );
    }

    const plain = await script([]);
    expect(plain.code, plain.out).toBe(0);
    for (const name of NATIVE) expect(plain.out).toMatch(new RegExp(`^PASS  ${name}\\s`, "m"));
    expect(plain.out).toMatch(/PASS  dns\s+\d+ local and mesh names answered at 10\.0\.4\.1 and 10\.42\.0\.1/);

    const cut = await script(["--cut-internet"]);
    expect(cut.code, cut.out).toBe(0);
    expect(cut.out).toMatch(/^PASS  internet cut\s+WAN \S+ dropped; forwarder 198\.51\.100\.10 out of reach/m);
    for (const name of NATIVE) expect(cut.out).toMatch(new RegExp(`^PASS  ${name}\\s`, "m"));
    expect((await hub.exec("nft list tables")).stdout).not.toContain("meshisp_cut");
    expect((await hub.exec(`ping -c 1 -W 2 ${INTERNET_DNS} >/dev/null && echo back`)).stdout).toContain("back");
  }, 120_000);

  it("fails, by name, a declared service that is not running", async () => {
    const hub = lab.host("hub");
    await hub.exec("kill $(cat /run/redis-lab.pid)");
    await waitFor(
      "redis to stop answering",
      async () => !(await hub.exec("redis-cli -h 127.0.0.1 ping")).stdout.includes("PONG"),
      { everyMs: 100 },
    );
    const run = await script([]);
    expect(run.code, run.out).toBe(1);
    expect(run.out).toMatch(/^FAIL  redis\s+probe redis-cli at 127\.0\.0\.1:6379 exited/m);
    expect(run.out).toMatch(/^PASS  dns\s/m);
  }, 60_000);

  it("reports each of the nine services as failing where the stack is declared but Docker has no engine (the lab)", async () => {
    const run = await script(["-e", "docker_enabled=true"]);
    expect(run.code).toBe(1);
    expect(STACK_SERVICES).toHaveLength(9);
    for (const name of STACK_SERVICES) expect(run.out).toMatch(new RegExp(`^FAIL  ${name}\\s`, "m"));
  }, 60_000);
});
