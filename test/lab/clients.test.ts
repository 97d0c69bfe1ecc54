// A mesh client on the pilot's network: a member's Debian machine at a remote home (behind the home's NAT, no radio),
// enrolled from the installer's laptop on that home's LAN, then managed from the kitchen laptop over the mesh, its
// internet through the hub (client_internet_via_mesh) and out of a volunteer's uplink. The hub sits behind
// Starlink-like CGNAT: the client finds it through the relay's lighthouse, at an address no inventory knows.
import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadInventory } from "../../lib/inventory/load.ts";
import { caStoreFor } from "../../lib/pki/passphrase.ts";
import { enrollClient, type ClientEnrollRequest } from "../../tasks/enroll/client.ts";
import { UNDERLAY_TABLE } from "../../roles/routing/underlay-rule.ts";
import { pilotMeshUp, type PilotMesh } from "./pilot-mesh.ts";

const PASSPHRASE = "clients lab CA passphrase";
const CLIENT_PASSWORD = "the member's root password";
const SERVICES = "198.51.100.10";
/** The client's Nebula listens here once its internet rides the mesh (nebula_port: the policy rule's source port). */
const NEBULA_PORT = 4242;
let mesh: PilotMesh;
let httpdPid = "";

const lab = () => mesh.lab;
const client = () => lab().host("client");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, test: () => Promise<boolean>, seconds: number) {
  const start = Date.now();
  while (Date.now() - start < seconds * 1000) {
    if (await test()) return;
    await sleep(200);
  }
  throw new Error(`${what}: not within ${seconds} s`);
}
const natCount = async () =>
  Number(
    /counter packets (\d+)[^\n]*masquerade/.exec(
      (await lab().host("uplink").exec("nft list chain ip meshisp postrouting")).stdout,
    )?.[1] ?? NaN,
  );
/** The home router in front of the client: its LAN side, where the client's default route points. */
const homeGateway = () => client().wanAddress.replace(/\.2$/, ".1");
const viaHome = () => new RegExp(`via ${homeGateway().replace(/\./g, "\\.")} dev wan0`);
/** Where the client reaches the hub over the internet: Starlink's public address (the hub's CGNAT), learned from the lighthouse. */
const hubUnderlay = () => lab().host("hub").publicAddress;
const relayPublic = () => lab().host("relay").publicAddress;

/** The enrollment as the installer runs it: the laptop plugged into the client's home LAN, the machine at its address there. */
async function enroll(extra: Partial<ClientEnrollRequest> = {}, log: string[] = []) {
  await lab().installer.plugInto("client");
  try {
    return await enrollClient(
      {
        inventoryFile: lab().inventoryPath,
        address: client().wanAddress,
        name: "client",
        member: { name: "Grace Hopper", contact: "grace@example.org" },
        internetViaMesh: true,
        ...extra,
      },
      mesh.ca,
      (line) => log.push(line),
      { dial: lab().laptop("installer").dial },
    );
  } finally {
    await lab().installer.unplug();
  }
}

beforeAll(async () => {
  mesh = await pilotMeshUp({
    passphrase: PASSPHRASE,
    hosts: [
      { name: "hub", kind: "debian", group: "hub" },
      { name: "relay", kind: "debian", group: "relays" },
      { name: "uplink", kind: "openwrt", group: "uplinks", vars: { bandwidth: { up_mbit: 20, down_mbit: 50 } } },
      // A member's machine waiting to be enrolled: nobody's key on it, only root's password (first contact).
      {
        name: "client",
        kind: "debian",
        group: "clients",
        site: "remote",
        password: CLIENT_PASSWORD,
        notInInventory: true,
      },
    ],
  });
  // A web page on the services host that answers with the source address it sees.
  const www = `${lab().dir}/www`;
  await lab().services.exec(
    `mkdir -p ${www}/cgi-bin && printf '#!/bin/sh\\nprintf "Content-Type: text/plain\\\\r\\\\n\\\\r\\\\n%%s\\\\n" "$REMOTE_ADDR"\\n' > ${www}/cgi-bin/source && chmod 755 ${www}/cgi-bin/source`,
  );
  httpdPid = (
    await lab().services.exec(`busybox httpd -f -p 8080 -h ${www} </dev/null >/dev/null 2>&1 & echo $!`)
  ).stdout.trim();
}, 900_000); // a faithful OpenWrt host, a kitchen deploy and an enrollment take minutes under a shared CPU
afterAll(async () => {
  if (/^\d+$/.test(httpdPid)) await lab()?.services.exec(`kill ${httpdPid}`);
  await mesh?.down();
});

describe("a member's machine enrolled on its home LAN, its internet through the mesh and out of an uplink", () => {
  it("is enrolled from the installer's laptop on its home LAN: group clients, the first client address, no address, its certificate registered", async () => {
    expect(loadInventory(lab().inventoryPath).hosts.some((h) => h.name === "client")).toBe(false);
    const log: string[] = [];
    const result = await enroll({ password: CLIENT_PASSWORD }, log);
    expect(result.name).toBe("client");
    expect(result.meshIp).toBe("10.0.4.129");
    for (const r of result.recaps) expect(r.failed || r.unreachable ? r.error : "ok", r.host).toBe("ok");
    expect(log.join("\n")).toMatch(/a machine seen for the first time: pinned its ssh-ed25519 host key/);
    expect(log.join("\n")).toContain("client reaches the hub at 10.0.4.1 over the mesh");
    // The hub's certificate does not carry the internet yet: the member keeps the home line until the kitchen deploys.
    expect(result.internetNow).toBe(false);
    expect(result.summary.join("\n")).toMatch(/moves onto the mesh with the next run of tasks\/deploy-hub\.ts/);
    expect((await client().exec(`ip -4 route get ${SERVICES}`)).stdout).toMatch(viaHome());

    const node = loadInventory(lab().inventoryPath).hosts.find((h) => h.name === "client")!;
    expect(node).toMatchObject({ group: "clients", meshIp: "10.0.4.129", address: "10.0.4.129", via: "hub" });
    expect(node.vars).toMatchObject({
      client_internet_via_mesh: true,
      member: { name: "Grace Hopper", contact: "grace@example.org" },
    });
    const entry = caStoreFor(loadInventory(lab().inventoryPath))
      .issued()
      .find((e) => e.name === "client");
    expect(entry).toMatchObject({ ip: "10.0.4.129/16", groups: ["client"] });
    // The private key went straight to the machine: nothing of it beside the inventory and the CA (the lab's directory
    // but its hosts' own disks), nor in the laptop's temporary files.
    const key = (await client().exec("cat /etc/nebula/host.key")).stdout.trim();
    expect(key).toMatch(/NEBULA X25519 PRIVATE KEY/);
    const body = key.split("\n")[1];
    const found = await lab()
      .laptop("kitchen")
      .exec(`grep -rlF ${JSON.stringify(body)} ${lab().dir} ${tmpdir()} --exclude-dir=hosts 2>/dev/null || true`);
    expect(found.stdout.trim()).toBe("");
  }, 300_000);

  it("a second enrollment (by key now, no password) recognises the machine by its host key and changes nothing", async () => {
    const log: string[] = [];
    const again = await enroll({}, log);
    expect(log.join("\n")).toContain(
      "This machine is client (its host key is pinned under that name): finishing its enrollment.",
    );
    expect(again.meshIp).toBe("10.0.4.129");
    for (const r of again.recaps) expect(r.changed, `${r.host} changed on a re-run`).toBe(0);
    expect(
      loadInventory(lab().inventoryPath)
        .hosts.filter((h) => h.group === "clients")
        .map((h) => h.name),
    ).toEqual(["client"]);
  }, 180_000);

  it("deployMesh from the kitchen laptop converges hub, relay, uplink and client; a second run changes nothing", async () => {
    const first = await mesh.converge();
    for (const r of first.recaps) expect(r.failed || r.unreachable ? r.error : "ok", r.host).toBe("ok");
    expect(first.recaps.map((r) => r.host).sort()).toEqual(["client", "hub", "relay", "uplink"]);
    const second = await mesh.converge();
    const changed = second.events.filter((e) => e.status === "changed").map((e) => `${e.host}: ${e.task}`);
    for (const r of second.recaps)
      expect(r.changed, `${r.host} changed on the second run: ${changed.join("; ")}`).toBe(0);
  }, 300_000);

  it("the client's internet enters the tun; Nebula's own UDP (to the relay, and to the hub's CGNAT address) keeps the home gateway", async () => {
    const c = client();
    expect((await c.exec(`ip -4 route get ${SERVICES}`)).stdout).toMatch(/dev nebula1/);
    // The relay (the lighthouse): a host route of ours.
    expect((await c.exec(`ip -4 route get ${relayPublic()}`)).stdout).toMatch(viaHome());
    expect((await c.exec(`ip -4 route show ${relayPublic()} proto 77`)).stdout).toContain(relayPublic());
    // The hub: the member's own traffic to Starlink's address goes through the mesh; Nebula's (its port) does not.
    expect((await c.exec(`ip -4 route get ${hubUnderlay()}`)).stdout).toMatch(/dev nebula1/);
    expect((await c.exec(`ip -4 route get ${hubUnderlay()} ipproto udp sport ${NEBULA_PORT}`)).stdout).toMatch(
      viaHome(),
    );
    expect((await c.exec(`ss -Hlun 'sport = :${NEBULA_PORT}'`)).stdout).toContain(`:${NEBULA_PORT}`);
    // And they really go that way: with the home router's record of that flow deleted, the next pings over the mesh
    // make it anew (a tunnel to the hub that went relayed, or into the tun, would send nothing to that address).
    const flow = `-p udp --orig-src ${c.wanAddress} --sport ${NEBULA_PORT} --orig-dst ${hubUnderlay()}`;
    await c.execGateway(`conntrack -D ${flow} >/dev/null 2>&1; true`);
    await until(
      "Nebula's datagrams to the hub's CGNAT address leave through the home router",
      async () => {
        await c.exec("ping -c 1 -W 1 10.0.4.1");
        return /dport=/.test((await c.execGateway(`conntrack -L ${flow} 2>/dev/null`)).stdout);
      },
      30,
    );
  }, 60_000);

  it("the client reaches the services host through the hub and the uplink: the source seen is the uplink's home, not the client's", async () => {
    await until(
      "the hub routes the community through the uplink",
      async () => /dev mu\d+/.test((await lab().host("hub").exec("ip route show table 100 default")).stdout),
      30,
    );
    await until(
      "the client pings the hub over the mesh",
      async () => (await client().exec("ping -c 1 -W 2 10.0.4.1")).code === 0,
      20,
    );
    const before = await natCount();
    await until(
      "a ping from the client to the services host",
      async () => (await client().exec(`ping -c 1 -W 1 ${SERVICES}`)).code === 0,
      20,
    );
    expect((await client().exec(`ping -c 3 -W 2 ${SERVICES}`)).code).toBe(0);
    expect(await natCount()).toBeGreaterThan(before);
    const seen = await client().exec(`curl -s -m 5 http://${SERVICES}:8080/cgi-bin/source`);
    expect(seen.code, seen.stderr).toBe(0);
    // busybox httpd listens on IPv6 too and shows IPv4 peers as [::ffff:a.b.c.d].
    const source = seen.stdout.trim().replace(/^\[::ffff:(.*)\]$/, "$1");
    expect(source).toBe(lab().host("uplink").publicAddress);
    expect(source).not.toBe(client().publicAddress);
  }, 90_000);

  it("after a reboot-like flush of its routes and rules the boot script puts the underlay back and the mesh recovers", async () => {
    const c = client();
    const flush = await c.exec(
      `ip route flush proto 77; ip route flush table ${UNDERLAY_TABLE}; ip rule del priority 7700; ip rule del priority 7701`,
    );
    expect(flush.code, flush.stderr).toBe(0);
    // The loop the routes and rules prevent: Nebula's own UDP would enter its tun.
    expect((await c.exec(`ip -4 route get ${relayPublic()}`)).stdout).toMatch(/dev nebula1/);
    expect((await c.exec(`ip -4 route get ${hubUnderlay()} ipproto udp sport ${NEBULA_PORT}`)).stdout).toMatch(
      /dev nebula1/,
    );
    const boot = await c.exec("/etc/meshisp/routing-boot.sh");
    expect(boot.code, boot.stderr).toBe(0);
    expect((await c.exec(`ip -4 route get ${relayPublic()}`)).stdout).toMatch(viaHome());
    expect((await c.exec(`ip -4 route get ${hubUnderlay()} ipproto udp sport ${NEBULA_PORT}`)).stdout).toMatch(
      viaHome(),
    );
    await until(
      "the client reaches the services host again",
      async () => (await c.exec(`ping -c 1 -W 1 ${SERVICES}`)).code === 0,
      30,
    );
    const again = await mesh.converge();
    const changed = again.events.filter((e) => e.status === "changed").map((e) => `${e.host}: ${e.task}`);
    for (const r of again.recaps)
      expect(r.changed, `${r.host} changed after the boot script: ${changed.join("; ")}`).toBe(0);
  }, 180_000);
});
