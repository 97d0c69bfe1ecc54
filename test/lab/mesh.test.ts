// The mesh for real: hub and relay deployed, uplinks enrolled (one by the CLI with a password, two at once, one killed
// midway and re-run), real nebula 1.6.1 tunnels, firewall by group, a foreign CA refused, secrets never printed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { labUp, type Lab } from "../../scripts/lab/index.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import { Session } from "../../lib/runner/session.ts";
import { openInventoryCa } from "../../lib/pki/passphrase.ts";
import { clientPlay, deployMesh } from "../../tasks/plays.ts";
import { BLANK_PASSWORD_WARNING, enrollUplink } from "../../tasks/enroll/enroll.ts";

const PASSPHRASE = "lab CA passphrase 4242";
const ROUTER_PASSWORD = "volunteer's router pw";
const NEW_ROUTER_PASSWORD = "set at enrollment 77";
// One enrollment of a factory-fresh router: opkg update and the packages, nebula, the ping, then the hub's whole play;
// about 90 s measured with five engineers' labs sharing two cores (the default 120 s left no margin).
const ENROLL_TIMEOUT = 240_000;
let lab: Lab;
let ca: Awaited<ReturnType<typeof openInventoryCa>>;

function cli(args: string[], kill?: (out: string) => boolean): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn("npx", ["tsx", "tasks/enroll-uplink.ts", ...args], { env: { ...process.env, MESH_CA_PASSPHRASE: PASSPHRASE, ROUTER_PASSWORD }, detached: true });
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

const everything = async () => {
  const inventory = loadInventory(lab.inventoryPath);
  const session = new Session(inventory, { output: "silent" });
  try {
    return await deployMesh(session, ca);
  } finally {
    await session.close();
  }
};

const meshIp = (name: string) => loadInventory(lab.inventoryPath).hosts.find((h) => h.name === name)!.meshIp!;
const ping = async (from: string, to: string) => (await lab.host(from).exec(`ping -c 1 -W 2 ${to} >/dev/null 2>&1 || ping -c 2 -W 2 ${to} >/dev/null 2>&1; echo $?`)).stdout.trim() === "0";

beforeAll(async () => {
  process.env.MESH_CA_PASSPHRASE = PASSPHRASE;
  lab = await labUp({
    hosts: [
      { name: "hub", kind: "debian", group: "hub" },
      { name: "relay", kind: "debian", group: "relays" },
      { name: "client-1", kind: "debian", group: "clients", home: {} },
      { name: "router-a", kind: "openwrt", release: "23.05", group: "uplinks", password: ROUTER_PASSWORD, notInInventory: true },
      { name: "router-b", kind: "openwrt", group: "uplinks", home: {}, notInInventory: true },
      { name: "router-c", kind: "openwrt", release: "23.05", group: "uplinks", home: {}, notInInventory: true },
      { name: "router-d", kind: "openwrt", group: "uplinks", home: {}, notInInventory: true },
      { name: "router-e", kind: "openwrt", group: "uplinks", home: { blockUdpTo: ["hub"] }, notInInventory: true },
    ],
  });
  // Enrolled routers are managed at their mesh IPs through the hub, as in the pilot's inventory (the installer reaches
  // each on its LAN only during enrollment).
  const doc = parseDocument(readFileSync(lab.inventoryPath, "utf8"));
  doc.setIn(["groups", "uplinks", "vars"], doc.createNode({ ssh_via: "hub" }));
  writeFileSync(lab.inventoryPath, doc.toString({ lineWidth: 0 }));
  ca = await openInventoryCa(loadInventory(lab.inventoryPath), { create: true });
}, 300_000);
afterAll(async () => {
  await lab?.down();
});

describe("the mesh in the lab", () => {
  it("deploys the hub, the relay and a client, and a second run changes nothing", async () => {
    const first = await everything();
    for (const r of first) expect(r.failed, r.error).toBe(0);
    const second = await everything();
    for (const r of second) expect(r.changed, r.host).toBe(0);
    expect(await ping("client-1", "10.0.4.1")).toBe(true);
  });

  it("enrolls a router on first contact by password, from the command line, and prints its card", async () => {
    const a = lab.host("router-a");
    // Factory-fresh: nobody's key on the router yet, only its root password.
    expect((await a.exec("ls /etc/dropbear/authorized_keys 2>&1")).stdout).toContain("No such file");
    const { code, out } = await cli([
      "-i", lab.inventoryPath, "--address", a.mgmtAddress, "--password", "--volunteer", "Ada Lovelace", "--contact", "+1 217 555 0199", "--up-mbit", "5", "--down-mbit", "20",
    ]);
    expect(code, out).toBe(0);
    expect(out).toContain("COMMUNITY MESH - UPLINK NODE REFERENCE CARD");
    expect(out).toMatch(/Mesh address:\s+10\.0\.4\.65/);
    expect(out).toContain("reaches the hub at 10.0.4.1");
    const inventoryText = readFileSync(lab.inventoryPath, "utf8");
    expect(inventoryText).toContain("# Lab inventory written by scripts/lab");
    // Written without the address the installer used (the router's LAN): from now on it is reached at its mesh IP, via the hub.
    expect(inventoryText).toMatch(/uplink-1:\n\s+os: openwrt\n/);
    expect(inventoryText).not.toContain(a.mgmtAddress);
    expect(loadInventory(lab.inventoryPath).hosts.find((h) => h.name === "uplink-1")).toMatchObject({ address: "10.0.4.65", via: "hub" });
    expect(readFileSync(lab.knownHostsPath, "utf8")).toContain(`uplink-1 ${a.hostKey}`);
    // No secret in the output: not the passphrase, not the router's password, not the node's private key.
    const key = (await a.exec("cat /etc/nebula/host.key")).stdout.split("\n")[1];
    expect(key.length).toBeGreaterThan(20);
    for (const secret of [PASSPHRASE, ROUTER_PASSWORD, key]) expect(out).not.toContain(secret);
    // The key was made for the node and exists nowhere on the installer's disk.
    expect((await new Promise<string>((r) => { const c = spawn("grep", ["-rl", "-D", "skip", "--exclude-dir=hosts", "--exclude-dir=openwrt-image-*", "--", key, lab.dir, "inventory"]); let o = ""; c.stdout.on("data", (d) => (o += d)); c.on("close", () => r(o)); }))).toBe("");
    // The installer's key now works without the password.
    expect((await a.exec("cat /etc/dropbear/authorized_keys")).stdout).toContain("meshisp-lab");
    expect(out).not.toContain("no root password");
  }, ENROLL_TIMEOUT);

  it("enrolls two routers at once with distinct addresses and a valid inventory; one with no root password gets one, the other is warned", async () => {
    const rootHash = async (host: string) => (await lab.host(host).exec(`awk -F: '$1 == "root" { print $2 }' /etc/shadow`)).stdout.trim();
    expect(await rootHash("router-b")).toBe("");
    const logs: Record<string, string[]> = { b: [], c: [] };
    const req = (host: string, name: string) => ({
      inventoryFile: lab.inventoryPath,
      address: lab.host(host).mgmtAddress,
      volunteer: { name, contact: `${name}@example.org` },
      bandwidth: { up_mbit: 2, down_mbit: 5 },
    });
    const [b, c] = await Promise.all([
      enrollUplink({ ...req("router-b", "bo"), askNewPassword: async () => NEW_ROUTER_PASSWORD }, ca, (l) => logs.b.push(l)),
      enrollUplink(req("router-c", "cy"), ca, (l) => logs.c.push(l)),
    ]);
    expect(new Set([b.meshIp, c.meshIp]).size).toBe(2);
    // router-b had no root password and has one now (SHA-512, as OpenWrt's passwd makes it); router-c's installer was told.
    expect(await rootHash("router-b")).toMatch(/^\$6\$/);
    expect(b.blankRootPassword).toBe(false);
    expect(logs.b.join("\n")).not.toContain(NEW_ROUTER_PASSWORD);
    expect(c.blankRootPassword).toBe(true);
    expect(logs.c.join("\n")).toContain(BLANK_PASSWORD_WARNING);
    expect(await rootHash("router-c")).toBe("");
    expect(new Set([b.name, c.name]).size).toBe(2);
    const inventory = loadInventory(lab.inventoryPath);
    expect(inventory.groups.uplinks.sort()).toEqual(["uplink-1", "uplink-2", "uplink-3"]);
    expect(await ping("router-b", "10.0.4.1")).toBe(true);
    expect(await ping("router-c", "10.0.4.1")).toBe(true);
  }, ENROLL_TIMEOUT);

  it("an enrollment killed midway completes when run again", async () => {
    const d = lab.host("router-d");
    const args = ["-i", lab.inventoryPath, "--address", d.mgmtAddress, "--volunteer", "Dee", "--contact", "dee@example.org", "--up-mbit", "20", "--down-mbit", "100"];
    const killed = await cli(args, (out) => out.includes("Added uplink-4"));
    expect(killed.code).not.toBe(0);
    const again = await cli(args);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain("This router is uplink-4 (its host key is pinned under that name)");
    expect(again.out).toContain("Found uplink-4");
    expect(loadInventory(lab.inventoryPath).groups.uplinks).toContain("uplink-4");
  }, 2 * ENROLL_TIMEOUT);

  it("a router whose UDP to the hub is blocked reaches it through the relay", async () => {
    const e = lab.host("router-e");
    const result = await enrollUplink(
      { inventoryFile: lab.inventoryPath, address: e.mgmtAddress, volunteer: { name: "Eve", contact: "eve@example.org" }, bandwidth: { up_mbit: 2, down_mbit: 5 } },
      ca,
      () => undefined,
    );
    expect(result.name).toBe("uplink-5");
    expect(await ping("router-e", "10.0.4.1")).toBe(true);
    // The hub saw the node's handshake arrive from the relay's public address, never from the node's own gateway.
    const relay = lab.host("relay").publicAddress.replace(/\./g, "\\.");
    const hubLog = (await lab.host("hub").exec(`grep -E 'vpnIp=${result.meshIp.replace(/\./g, "\\.")}( |$)' /var/log/nebula-mesh.log | grep -o 'udpAddr="[^"]*"' | sort -u`)).stdout;
    expect(hubLog).toMatch(new RegExp(`udpAddr="${relay}:\\d+"`));
    expect(hubLog).not.toContain(`udpAddr="${e.publicAddress}:`);
    expect((await lab.host("relay").exec("nft list table ip meshisp_relay")).stdout).toContain("dnat to");
  }, ENROLL_TIMEOUT);

  it("the hub reaches every uplink over the mesh, uplinks cannot reach each other, and everything converges quietly", async () => {
    await new Promise((r) => setTimeout(r, 2000));
    for (const name of ["uplink-1", "uplink-2", "uplink-3", "uplink-4", "uplink-5"]) expect(await ping("hub", meshIp(name)), name).toBe(true);
    // The hub reads each uplink's Nebula stats over the mesh; another uplink cannot even ping it.
    for (const name of ["uplink-1", "uplink-2"]) expect((await lab.host("hub").exec(`curl -s -m 5 http://${meshIp(name)}:9101/metrics | grep -c '^nebula_'`)).stdout.trim()).not.toBe("0");
    expect(await ping("router-a", meshIp("uplink-2"))).toBe(false);
    expect((await lab.host("hub").exec("cat /etc/meshisp/uplinks.conf")).stdout).toMatch(/uplink-4 10\.0\.4\.\d+ 20 100/);
    const again = await everything();
    for (const r of again) expect(r.changed, `${r.host} ${r.error ?? ""}`).toBe(0);
  });

  it("a node with a certificate from a foreign CA is refused by the hub", async () => {
    const d = mkdtempSync(join(tmpdir(), "meshisp-foreign-"));
    const run = (args: string[]) => new Promise<void>((r, j) => spawn("nebula-cert", args).on("close", (c) => (c === 0 ? r() : j(new Error(`nebula-cert ${c}`)))));
    await run(["ca", "-name", "rogue", "-out-crt", join(d, "ca.crt"), "-out-key", join(d, "ca.key")]);
    await run(["sign", "-ca-crt", join(d, "ca.crt"), "-ca-key", join(d, "ca.key"), "-name", "client-1", "-ip", `${meshIp("client-1")}/16`, "-groups", "client", "-out-crt", join(d, "h.crt"), "-out-key", join(d, "h.key")]);
    const c = lab.host("client-1");
    const put = (file: string, path: string) => c.exec(`cat > ${path} <<'EOF'\n${readFileSync(file, "utf8")}EOF`);
    await put(join(d, "h.crt"), "/etc/nebula/host.crt");
    await put(join(d, "h.key"), "/etc/nebula/host.key");
    await put(join(d, "ca.crt"), "/etc/nebula/ca.crt");
    await c.exec("/etc/init.d/nebula-mesh restart");
    await new Promise((r) => setTimeout(r, 1500));
    expect(await ping("client-1", "10.0.4.1")).toBe(false);
    const hubLog = (await lab.host("hub").exec("cat /var/log/nebula-mesh.log")).stdout;
    expect(hubLog).toMatch(/Invalid certificate from host/);
    // The runner sees the wrong certificate and puts the right one back.
    const inventory = loadInventory(lab.inventoryPath);
    const session = new Session(inventory, { output: "silent" });
    const [recap] = await session.run(clientPlay(ca));
    await session.close();
    expect(recap.changed).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await ping("client-1", "10.0.4.1")).toBe(true);
  });
});
