// A mesh client's internet through the hub (client_internet_via_mesh) on real lab hosts: the client, at home, sends its
// internet traffic into Nebula to the hub, which routes it out of an uplink; the client's own home line stays unused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labUp, type Lab } from "../../scripts/lab/index.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import { Session } from "../../lib/runner/session.ts";
import { openInventoryCa } from "../../lib/pki/passphrase.ts";
import { deployMesh } from "../../tasks/plays.ts";

const PASSPHRASE = "clients lab CA passphrase";
const SERVICES = "198.51.100.10";
let lab: Lab;
let ca: Awaited<ReturnType<typeof openInventoryCa>>;
let httpdPid = "";

async function converge() {
  const session = new Session(loadInventory(lab.inventoryPath), { output: "silent" });
  try {
    return await deployMesh(session, ca);
  } finally {
    await session.close();
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, test: () => Promise<boolean>, seconds: number) {
  const start = Date.now();
  while (Date.now() - start < seconds * 1000) {
    if (await test()) return;
    await sleep(200);
  }
  throw new Error(`${what}: not within ${seconds} s`);
}
const client = () => lab.host("client");
const natCount = async () => Number(/counter packets (\d+)[^\n]*masquerade/.exec((await lab.host("uplink").exec("nft list chain ip meshisp postrouting")).stdout)?.[1] ?? NaN);

beforeAll(async () => {
  process.env.MESH_CA_PASSPHRASE = PASSPHRASE;
  lab = await labUp({
    hosts: [
      { name: "hub", kind: "debian", group: "hub", lan: { subnet: "10.42.0.0/24" }, vars: { routing_backup: { device: "wan0", gateway: "203.0.113.1" } } },
      { name: "uplink", kind: "openwrt", group: "uplinks", vars: { bandwidth: { up_mbit: 20, down_mbit: 50 } } },
      { name: "client", kind: "debian", group: "clients", home: {}, vars: { client_internet_via_mesh: true } },
    ],
  });
  ca = await openInventoryCa(loadInventory(lab.inventoryPath), { create: true });
  // A web page on the services host that answers with the source address it sees.
  const www = `${lab.dir}/www`;
  await lab.services.exec(`mkdir -p ${www}/cgi-bin && printf '#!/bin/sh\\nprintf "Content-Type: text/plain\\\\r\\\\n\\\\r\\\\n%%s\\\\n" "$REMOTE_ADDR"\\n' > ${www}/cgi-bin/source && chmod 755 ${www}/cgi-bin/source`);
  httpdPid = (await lab.services.exec(`busybox httpd -f -p 8080 -h ${www} </dev/null >/dev/null 2>&1 & echo $!`)).stdout.trim();
}, 600_000); // a faithful OpenWrt host (its per-release image, procd, fw4) takes minutes to build and boot under a shared CPU
afterAll(async () => {
  if (/^\d+$/.test(httpdPid)) await lab?.services.exec(`kill ${httpdPid}`);
  await lab?.down();
});

describe("a client's internet through the mesh and out of an uplink", () => {
  it("deployMesh converges the hub, the uplink and the client; a second run changes nothing", async () => {
    const first = await converge();
    for (const r of first) expect(r.failed, `${r.host}: ${r.error}`).toBe(0);
    const second = await converge();
    for (const r of second) expect(r.changed, `${r.host} changed on the second run`).toBe(0);
  }, 90_000);

  it("the client's internet enters the tun, its Nebula underlay keeps the home gateway", async () => {
    const c = client();
    expect((await c.exec(`ip -4 route get ${SERVICES}`)).stdout).toMatch(/dev nebula1/);
    const hubPublic = lab.host("hub").publicAddress;
    const underlay = (await c.exec(`ip -4 route get ${hubPublic}`)).stdout;
    expect(underlay).not.toMatch(/nebula1/);
    expect(underlay).toMatch(new RegExp(`via ${c.wanAddress.replace(/\.2$/, ".1").replace(/\./g, "\\.")} `));
    expect((await c.exec(`ip -4 route show ${hubPublic} proto 77`)).stdout).toContain(hubPublic);
  });

  it("the client reaches the internet through the hub and the uplink, not its home line", async () => {
    await until("the hub routes the community through the uplink", async () => /dev mu\d+/.test((await lab.host("hub").exec("ip route show table 100 default")).stdout), 20);
    expect((await client().exec("ping -c 1 -W 2 10.0.4.1")).code).toBe(0);
    const before = await natCount();
    await until("a ping from the client to the services host", async () => (await client().exec(`ping -c 1 -W 1 ${SERVICES}`)).code === 0, 15);
    expect((await client().exec(`ping -c 3 -W 2 ${SERVICES}`)).code).toBe(0);
    expect(await natCount()).toBeGreaterThan(before);
    const seen = await client().exec(`curl -s -m 5 http://${SERVICES}:8080/cgi-bin/source`);
    expect(seen.code, seen.stderr).toBe(0);
    // busybox httpd listens on IPv6 too and shows IPv4 peers as [::ffff:a.b.c.d].
    const source = seen.stdout.trim().replace(/^\[::ffff:(.*)\]$/, "$1");
    expect(source).toBe(lab.host("uplink").publicAddress);
    expect(source).not.toBe(client().publicAddress);
  }, 60_000);

  it("after a reboot (its routes forgotten) the boot script puts the underlay back and the mesh recovers", async () => {
    const c = client();
    const hubPublic = lab.host("hub").publicAddress;
    expect((await c.exec("ip route flush proto 77")).code).toBe(0);
    expect((await c.exec(`ip -4 route get ${hubPublic}`)).stdout).toMatch(/dev nebula1/); // the loop the routes prevent
    const boot = await c.exec("/etc/meshisp/routing-boot.sh");
    expect(boot.code, boot.stderr).toBe(0);
    expect((await c.exec(`ip -4 route get ${hubPublic}`)).stdout).not.toMatch(/nebula1/);
    await until("the client reaches the services host again", async () => (await c.exec(`ping -c 1 -W 1 ${SERVICES}`)).code === 0, 20);
    const again = await converge();
    for (const r of again) expect(r.changed, `${r.host} changed after the boot script`).toBe(0);
  }, 60_000);
});
