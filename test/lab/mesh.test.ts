// The mesh for real, on the pilot's network (no management network): the maintainer deploys the hub and the relay
// from the kitchen laptop, installers enroll routers from laptops plugged into each router's LAN (192.168.8.1): one by
// the CLI with a password, two at once at two homes, one killed midway and re-run, one whose UDP to the hub is blocked;
// real nebula 1.6.1 tunnels to a hub behind Starlink's CGNAT (no inbound address): over the radio, or found through
// the relay's lighthouse (hole punching) and, behind symmetric NAT or blocked UDP, through Nebula relaying; the
// firewall by group (SSH over the mesh only from the hub), a foreign CA refused, secrets never printed.
// (test/lab/nebula-pilot.test.ts's hub-without-inbound-address checks live here now: one lab bring-up instead of two.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labUp, type Lab } from "../../scripts/lab/index.ts";
import { dialIn } from "../../scripts/lab/pilot/laptop.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import type { HostRecap } from "../../lib/runner/report.ts";
import { Session, type SessionOptions } from "../../lib/runner/session.ts";
import { openInventoryCa } from "../../lib/pki/passphrase.ts";
import { deployMesh } from "../../tasks/plays.ts";
import { BLANK_PASSWORD_WARNING, enrollUplink, type EnrollRequest } from "../../tasks/enroll/enroll.ts";

const PASSPHRASE = "lab CA passphrase 4242";
const ROUTER_PASSWORD = "volunteer's router pw";
const NEW_ROUTER_PASSWORD = "set at enrollment 77";
/** Every router is at GL.iNet's default LAN address: the installer's laptop reaches only the one it is plugged into. */
const ROUTER_LAN = "192.168.8.1";
// One enrollment of a factory-fresh router: opkg update and the packages, nebula, the ping, then the hub's whole play;
// about 90 s measured with five engineers' labs sharing two cores (the default 120 s left no margin).
const ENROLL_TIMEOUT = 240_000;
let lab: Lab<"pilot">;
let ca: Awaited<ReturnType<typeof openInventoryCa>>;
/** Node names the enrollments gave each lab router. */
const nodeOf: Record<string, string> = {};

/** tasks/enroll-uplink.ts run as the installer runs it: in the laptop's namespace (plugged into the router's LAN). */
function cli(args: string[], kill?: (out: string) => boolean): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn("ip", ["netns", "exec", lab.installer.netns, "npx", "tsx", "tasks/enroll-uplink.ts", ...args], {
      env: { ...process.env, MESH_CA_PASSPHRASE: PASSPHRASE, ROUTER_PASSWORD },
      detached: true,
    });
    let out = "";
    const on = (d: Buffer) => {
      out += d;
      if (kill?.(out)) process.kill(-child.pid!, "SIGKILL");
    };
    child.stdout.on("data", on);
    child.stderr.on("data", on);
    child.on("close", (code) => resolve({ code, out }));
  });
}

/** Runs `fn` with installer k's laptop plugged into `router`'s LAN, unplugged after. */
async function pluggedInto<T>(router: string, fn: (dial: SessionOptions["dial"]) => Promise<T>, k = 0): Promise<T> {
  const installer = lab.installers[k];
  await installer.plugInto(router);
  try {
    return await fn(installer.dial);
  } finally {
    await installer.unplug();
  }
}

const request = (volunteer: string, bandwidth = { up_mbit: 2, down_mbit: 5 }): EnrollRequest => ({
  inventoryFile: lab.inventoryPath,
  address: ROUTER_LAN,
  volunteer: { name: volunteer, contact: `${volunteer}@example.org` },
  bandwidth,
});

/** What a converge changed, for a failure's message. */
let lastChanges: string[] = [];
/** The maintainer at the kitchen: the hub on the kitchen LAN, everything else through it over the mesh (ssh_via). */
async function fromKitchen(): Promise<HostRecap[]> {
  const session = new Session(loadInventory(lab.inventoryPath), { output: "silent", dial: lab.laptop("kitchen").dial });
  try {
    return await deployMesh(session, ca);
  } finally {
    await session.close();
    lastChanges = session.reporter.events
      .filter((e) => e.status === "changed")
      .map((e) => `${e.host}: ${e.task} ${e.summary ?? ""}`);
  }
}

const meshIp = (name: string) => loadInventory(lab.inventoryPath).hosts.find((h) => h.name === name)!.meshIp!;
const ping = async (from: string, to: string) =>
  (
    await lab.host(from).exec(`ping -c 1 -W 2 ${to} >/dev/null 2>&1 || ping -c 2 -W 2 ${to} >/dev/null 2>&1; echo $?`)
  ).stdout.trim() === "0";
const hubLog = async () => (await lab.host("hub").exec("cat /var/log/nebula-mesh.log")).stdout;
/** The hub's Nebula log lines about one node (by its mesh IP). */
const hubLogOf = async (ip: string) =>
  (await hubLog()).split("\n").filter((l) => new RegExp(`vpnIp=${ip.replace(/\./g, "\\.")}( |$)`).test(l));
/** The first 8 bytes a TCP connection to host:22 gets, made inside a Debian host ("" when it does not open in 5 s). */
const sshBanner = async (from: string, to: string) =>
  (await lab.host(from).exec(`timeout 5 bash -c 'exec 3<>/dev/tcp/${to}/22 && head -c 8 <&3' 2>/dev/null; true`))
    .stdout;
/** Whether a TCP connection to host:port opens from inside a host's network namespace (routers have no bash /dev/tcp). */
async function opens(netns: string, host: string, port: number): Promise<boolean> {
  try {
    (await dialIn(netns, host, port, 5000)).destroy();
    return true;
  } catch {
    return false;
  }
}
async function until(what: string, test: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Restarts Nebula on a router and measures how long until `target` answers a ping (-1: not within 30 tries of 1 s). */
async function timeToFirstPing(name: string, target: string): Promise<number> {
  await lab.host(name).exec("/etc/init.d/nebula-mesh restart >/dev/null 2>&1");
  const t0 = Date.now();
  const r = await lab
    .host(name)
    .exec(`i=0; while [ $i -lt 30 ]; do ping -c 1 -W 1 ${target} >/dev/null 2>&1 && exit 0; i=$((i+1)); done; exit 1`);
  return r.code === 0 ? Date.now() - t0 : -1;
}

beforeAll(async () => {
  process.env.MESH_CA_PASSPHRASE = PASSPHRASE;
  lab = await labUp({
    topology: "pilot",
    // Two installers' laptops: two routers at two homes are enrolled at once.
    installers: 2,
    hosts: [
      { name: "hub", kind: "debian", group: "hub" },
      { name: "relay", kind: "debian", group: "relays" },
      // At homes on the radio (the tunnel rides it, to the hub's radio address).
      {
        name: "router-a",
        kind: "openwrt",
        release: "23.05",
        group: "uplinks",
        site: "home",
        password: ROUTER_PASSWORD,
        notInInventory: true,
      },
      { name: "router-b", kind: "openwrt", group: "uplinks", site: "home", notInInventory: true },
      // Remote homes, no radio: the hub is found only through the relay's lighthouse.
      { name: "router-c", kind: "openwrt", release: "23.05", group: "uplinks", site: "remote", notInInventory: true },
      {
        name: "router-d",
        kind: "openwrt",
        group: "uplinks",
        site: "remote",
        home: { symmetricNat: true },
        notInInventory: true,
      },
      {
        name: "router-e",
        kind: "openwrt",
        group: "uplinks",
        site: "remote",
        home: { blockUdpTo: ["hub"] },
        notInInventory: true,
      },
    ],
  });
  ca = await openInventoryCa(loadInventory(lab.inventoryPath), { create: true });
}, 300_000);
afterAll(async () => {
  await lab?.down();
});

describe("the mesh on the pilot's network", () => {
  it("the maintainer deploys the hub and the relay from the kitchen, and a second run changes nothing", async () => {
    const first = await fromKitchen();
    for (const r of first) expect([r.failed, r.unreachable], `${r.host}: ${r.error}`).toEqual([0, false]);
    const second = await fromKitchen();
    for (const r of second) expect(r.changed, `${r.host}: ${lastChanges.join("; ")}`).toBe(0);
    // The relay finds the hub from the hub's own reports to the relay's lighthouse, once the hub's Nebula runs again.
    await until("the relay reaches the hub over the mesh", () => ping("relay", "10.0.4.1"), 30_000);
    // The relay forwards nothing to a hub behind CGNAT (it has no address to forward to): no forwarder table.
    expect((await lab.host("relay").exec("nft list table ip meshisp_relay 2>&1; true")).stdout).not.toContain("dnat");
  }, 300_000);

  it(
    "enrolls a router on first contact by password, from the command line on the installer's laptop, and prints its card",
    async () => {
      const a = lab.host("router-a");
      // Factory-fresh: nobody's key on the router yet, only its root password.
      expect((await a.exec("ls /etc/dropbear/authorized_keys 2>&1")).stdout).toContain("No such file");
      const { code, out } = await pluggedInto("router-a", () =>
        cli([
          "-i",
          lab.inventoryPath,
          "--address",
          ROUTER_LAN,
          "--password",
          "--volunteer",
          "Ada Lovelace",
          "--contact",
          "+1 217 555 0199",
          "--up-mbit",
          "5",
          "--down-mbit",
          "20",
        ]),
      );
      expect(code, out).toBe(0);
      nodeOf["router-a"] = "uplink-1";
      expect(out).toContain("COMMUNITY MESH - UPLINK NODE REFERENCE CARD");
      expect(out).toMatch(/Mesh address:\s+10\.0\.4\.65/);
      expect(out).toContain("reaches the hub at 10.0.4.1");
      const inventoryText = readFileSync(lab.inventoryPath, "utf8");
      expect(inventoryText).toContain("# Lab inventory written by scripts/lab");
      // Written without the address the installer used (the router's LAN): from now on it is reached at its mesh IP, via the hub.
      expect(inventoryText).toMatch(/uplink-1:\n\s+os: openwrt\n/);
      expect(inventoryText).not.toContain(ROUTER_LAN);
      expect(loadInventory(lab.inventoryPath).hosts.find((h) => h.name === "uplink-1")).toMatchObject({
        address: "10.0.4.65",
        via: "hub",
      });
      // Pinned by node name, never by the address every router shares.
      expect(readFileSync(lab.knownHostsPath, "utf8")).toContain(`uplink-1 ${a.hostKey}`);
      // No secret in the output: not the passphrase, not the router's password, not the node's private key.
      const key = (await a.exec("cat /etc/nebula/host.key")).stdout.split("\n")[1];
      expect(key.length).toBeGreaterThan(20);
      for (const secret of [PASSPHRASE, ROUTER_PASSWORD, key]) expect(out).not.toContain(secret);
      // The key was made for the node and exists nowhere on the installer's disk.
      expect(
        await new Promise<string>((r) => {
          const c = spawn("grep", [
            "-rl",
            "-D",
            "skip",
            "--exclude-dir=hosts",
            "--exclude-dir=openwrt-image-*",
            "--",
            key,
            lab.dir,
            "inventory",
          ]);
          let o = "";
          c.stdout.on("data", (d) => (o += d));
          c.on("close", () => r(o));
        }),
      ).toBe("");
      // The installer's key now works without the password.
      expect((await a.exec("cat /etc/dropbear/authorized_keys")).stdout).toContain("meshisp-lab");
      expect(out).not.toContain("no root password");
    },
    ENROLL_TIMEOUT,
  );

  it(
    "two installers at two homes enroll two routers at once: distinct names and addresses, a valid inventory; one with no root password gets one, the other is warned",
    async () => {
      const rootHash = async (host: string) =>
        (await lab.host(host).exec(`awk -F: '$1 == "root" { print $2 }' /etc/shadow`)).stdout.trim();
      expect(await rootHash("router-b")).toBe("");
      const logs: Record<string, string[]> = { b: [], c: [] };
      const [b, c] = await Promise.all([
        pluggedInto(
          "router-b",
          (dial) =>
            enrollUplink(
              { ...request("bo"), askNewPassword: async () => NEW_ROUTER_PASSWORD },
              ca,
              (l) => logs.b.push(l),
              { dial },
            ),
          0,
        ),
        pluggedInto("router-c", (dial) => enrollUplink(request("cy"), ca, (l) => logs.c.push(l), { dial }), 1),
      ]);
      nodeOf["router-b"] = b.name;
      nodeOf["router-c"] = c.name;
      expect(new Set([b.meshIp, c.meshIp]).size).toBe(2);
      expect(new Set([b.name, c.name]).size).toBe(2);
      // Each told the hub of itself, through itself over the mesh (the laptops at the homes have no way to the kitchen).
      expect([b.hubUpdated, c.hubUpdated], [...logs.b, ...logs.c].join("\n")).toEqual([true, true]);
      // router-b had no root password and has one now (SHA-512, as OpenWrt's passwd makes it); router-c's installer was told.
      expect(await rootHash("router-b")).toMatch(/^\$6\$/);
      expect(b.blankRootPassword).toBe(false);
      expect(logs.b.join("\n")).not.toContain(NEW_ROUTER_PASSWORD);
      expect(c.blankRootPassword).toBe(true);
      expect(logs.c.join("\n")).toContain(BLANK_PASSWORD_WARNING);
      expect(await rootHash("router-c")).toBe("");
      const inventory = loadInventory(lab.inventoryPath);
      expect(inventory.groups.uplinks.sort()).toEqual(["uplink-1", "uplink-2", "uplink-3"]);
      expect(await ping("router-b", "10.0.4.1")).toBe(true);
      expect(await ping("router-c", "10.0.4.1")).toBe(true);
    },
    ENROLL_TIMEOUT,
  );

  it(
    "an enrollment killed midway completes when run again",
    async () => {
      const args = [
        "-i",
        lab.inventoryPath,
        "--address",
        ROUTER_LAN,
        "--volunteer",
        "Dee",
        "--contact",
        "dee@example.org",
        "--up-mbit",
        "20",
        "--down-mbit",
        "100",
      ];
      const { killed, again } = await pluggedInto("router-d", async () => {
        const killed = await cli(args, (out) => out.includes("Added uplink-4"));
        return { killed, again: await cli(args) };
      });
      expect(killed.code).not.toBe(0);
      expect(again.code, again.out).toBe(0);
      nodeOf["router-d"] = "uplink-4";
      expect(again.out).toContain("This router is uplink-4 (its host key is pinned under that name)");
      expect(again.out).toContain("Found uplink-4");
      expect(loadInventory(lab.inventoryPath).groups.uplinks).toContain("uplink-4");
    },
    2 * ENROLL_TIMEOUT,
  );

  it(
    "a router whose UDP to the hub is blocked reaches it through Nebula relaying on the relay",
    async () => {
      const e = lab.host("router-e");
      const result = await pluggedInto("router-e", (dial) =>
        enrollUplink(request("Eve"), ca, () => undefined, { dial }),
      );
      nodeOf["router-e"] = result.name;
      expect(result.name).toBe("uplink-5");
      expect(result.hubUpdated).toBe(true);
      expect(await ping("router-e", "10.0.4.1")).toBe(true);
      // The hub's tunnel to it goes through the relay, and the hub never heard from the node's own gateway.
      const lines = await hubLogOf(result.meshIp);
      expect(lines.join("\n")).toContain(`relay=${meshIp("relay")}`);
      expect(lines.join("\n")).not.toContain(`udpAddr="${e.publicAddress}:`);
    },
    ENROLL_TIMEOUT,
  );

  it("a remote router behind an ordinary NAT finds the hub only through the relay's lighthouse and reaches it", async () => {
    // Its config has no address for the hub at all: what it knows of the hub comes from the relay's lighthouse.
    const config = (await lab.host("router-c").exec("cat /etc/nebula/config.yml")).stdout;
    expect(config).not.toMatch(/"10\.0\.4\.1": \[/);
    expect(config).toMatch(
      new RegExp(`lighthouse:[\\s\\S]*hosts:\\s*\\n\\s*- "${meshIp("relay").replace(/\./g, "\\.")}"`),
    );
    const ms = await timeToFirstPing("router-c", "10.0.4.1");
    console.log(`router-c (${nodeOf["router-c"]}) -> hub: first ping ${ms} ms after nebula restart`);
    expect(ms).toBeGreaterThanOrEqual(0);
    // Which path won: 1.6.1 sends the direct handshake (to what the lighthouse reported) and the relay request in the
    // same attempt, and keeps whichever answers first.
    const relayed = (await hubLogOf(meshIp(nodeOf["router-c"]))).filter((l) =>
      l.includes(`relay=${meshIp("relay")}`),
    ).length;
    console.log(`router-c -> hub: hub log lines naming the relay for its handshakes: ${relayed}`);
  }, 120_000);

  it("a remote router behind symmetric NAT reaches the hub through Nebula relaying on the relay", async () => {
    const ms = await timeToFirstPing("router-d", "10.0.4.1");
    console.log(`router-d (${nodeOf["router-d"]}) -> hub: first ping ${ms} ms after nebula restart (relayed)`);
    expect(ms).toBeGreaterThanOrEqual(0);
    expect((await hubLogOf(meshIp(nodeOf["router-d"]))).slice(-20).join("\n")).toContain(`relay=${meshIp("relay")}`);
    const rtt = (await lab.host("router-d").exec("ping -c 5 -i 1 -q 10.0.4.1 | tail -n 1")).stdout.trim();
    console.log(`router-d -> hub relayed: ${rtt}`);
  }, 120_000);

  it("SSH over the mesh only from the hub: the hub reaches the relay's and a router's, a router not the relay's", async () => {
    const relayIp = meshIp("relay");
    expect(await sshBanner("hub", relayIp)).toBe("SSH-2.0-");
    expect(await sshBanner("hub", meshIp("uplink-1"))).toBe("SSH-2.0-");
    const c = lab.host("router-c");
    expect(await opens(c.netns, relayIp, 22)).toBe(false);
    // ... while that router still pings the relay (Nebula's firewall drops SSH, not the tunnel).
    expect(await ping("router-c", relayIp)).toBe(true);
  }, 60_000);

  it("a router with a certificate from a foreign CA is refused by the hub; the installer's re-run puts the right one back, a second changes nothing", async () => {
    const router = "router-b";
    const node = nodeOf[router];
    const d = mkdtempSync(join(tmpdir(), "meshisp-foreign-"));
    const run = (args: string[]) =>
      new Promise<void>((r, j) =>
        spawn("nebula-cert", args).on("close", (c) => (c === 0 ? r() : j(new Error(`nebula-cert ${c}`)))),
      );
    await run(["ca", "-name", "rogue", "-out-crt", join(d, "ca.crt"), "-out-key", join(d, "ca.key")]);
    await run([
      "sign",
      "-ca-crt",
      join(d, "ca.crt"),
      "-ca-key",
      join(d, "ca.key"),
      "-name",
      node,
      "-ip",
      `${meshIp(node)}/16`,
      "-groups",
      "uplink",
      "-out-crt",
      join(d, "h.crt"),
      "-out-key",
      join(d, "h.key"),
    ]);
    const b = lab.host(router);
    const put = (file: string, path: string) => b.exec(`cat > ${path} <<'EOF'\n${readFileSync(file, "utf8")}EOF`);
    await put(join(d, "h.crt"), "/etc/nebula/host.crt");
    await put(join(d, "h.key"), "/etc/nebula/host.key");
    await put(join(d, "ca.crt"), "/etc/nebula/ca.crt");
    const refusedBefore = (await hubLog())
      .split("\n")
      .filter((l) => l.includes("Invalid certificate from host")).length;
    await b.exec("/etc/init.d/nebula-mesh restart");
    // When it has something for the hub it handshakes with the hub's radio address directly; the hub refuses it. The
    // router must start that handshake: on the pilot the hub is no lighthouse, so a restarted node does not contact
    // it by itself, and a handshake the hub starts is refused on the router's side (logged there, not at the hub).
    // The probe's ping is that traffic (CI twice waited 20 s for a hub log line without it).
    const refusedAt = Date.now();
    await until(
      "the hub logs the foreign certificate",
      async () => {
        await b.exec("ping -c 1 -W 1 10.0.4.1 >/dev/null 2>&1; true");
        return (
          (await hubLog()).split("\n").filter((l) => l.includes("Invalid certificate from host")).length > refusedBefore
        );
      },
      60_000,
    ).catch(async (err) => {
      const tail = async (host: string) =>
        (await lab.host(host).exec("tail -n 15 /var/log/nebula-mesh.log; ps w | grep [n]ebula")).stdout;
      throw new Error(
        `${(err as Error).message}\n--- hub's Nebula log:\n${await tail("hub")}\n--- ${router}'s:\n${await tail(router)}`,
      );
    });
    console.log(
      `${router} with a foreign certificate: refused at the hub ${Date.now() - refusedAt} ms after its restart`,
    );
    expect(await ping(router, "10.0.4.1")).toBe(false);
    // The kitchen cannot reach it any more (its only way in is the mesh); the installer at its LAN runs the enrollment
    // again: the runner sees the wrong certificate and puts the right one back, and a second run changes nothing.
    const reenroll = () => pluggedInto(router, (dial) => enrollUplink(request("bo"), ca, () => undefined, { dial }));
    const fixed = await reenroll();
    expect([fixed.name, fixed.hubUpdated]).toEqual([node, true]);
    expect(fixed.recaps.reduce((n, r) => n + r.changed, 0)).toBeGreaterThan(0);
    expect(await ping(router, "10.0.4.1")).toBe(true);
    const again = await reenroll();
    for (const r of again.recaps)
      expect([r.failed, r.unreachable, r.changed], `${r.host} ${r.error ?? ""}`).toEqual([0, false, 0]);
  }, 300_000);

  it("the hub reaches every uplink over the mesh, uplinks cannot reach each other, and the kitchen converges everything quietly", async () => {
    for (const name of ["uplink-1", "uplink-2", "uplink-3", "uplink-4", "uplink-5"])
      expect(await ping("hub", meshIp(name)), name).toBe(true);
    // The hub reads each uplink's Nebula stats over the mesh; another uplink cannot even ping it.
    for (const name of ["uplink-1", "uplink-2"])
      expect(
        (
          await lab.host("hub").exec(`curl -s -m 5 http://${meshIp(name)}:9101/metrics | grep -c '^nebula_'`)
        ).stdout.trim(),
      ).not.toBe("0");
    expect(await ping("router-a", meshIp("uplink-2"))).toBe(false);
    expect(await ping("router-c", meshIp("uplink-1"))).toBe(false);
    expect((await lab.host("hub").exec("cat /etc/meshisp/uplinks.conf")).stdout).toMatch(
      /uplink-4 10\.0\.4\.\d+ 20 100/,
    );
    // Every router converged at its enrollment (router-b again at the installer's re-runs): from the kitchen, nothing changes.
    const again = await fromKitchen();
    for (const r of again)
      expect([r.failed, r.unreachable, r.changed], `${r.host} ${r.error ?? ""} ${lastChanges.join("; ")}`).toEqual([
        0,
        false,
        0,
      ]);
  }, 300_000);
});
