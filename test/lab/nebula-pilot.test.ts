// Real nebula 1.6.1: a hub with no inbound address (behind a NAT that stands for Starlink's CGNAT) is reached by
// remote uplinks through the relay's lighthouse (hole punching), and with symmetric NAT through Nebula relaying; SSH
// over the mesh only from the hub (and admins); two converges, the second with 0 changes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labUp, type Lab } from "../../scripts/lab/index.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import type { Play } from "../../lib/play.ts";
import { Session } from "../../lib/runner/session.ts";
import { openInventoryCa } from "../../lib/pki/passphrase.ts";
import { baseRole } from "../../roles/base/index.ts";
import { nebulaRole } from "../../roles/nebula/index.ts";

const PASSPHRASE = "lab CA passphrase nebula-pilot";
let lab: Lab;
let ca: Awaited<ReturnType<typeof openInventoryCa>>;

const converge = async () => {
  const session = new Session(loadInventory(lab.inventoryPath), { output: "silent" });
  const plays: Play[] = ["hub", "relays", "uplinks"].map((g) => ({ name: `Nebula on ${g}`, hosts: [g], roles: [baseRole, nebulaRole(ca)] }));
  try {
    const recaps = [];
    for (const play of plays) recaps.push(...(await session.run(play)));
    await Promise.all(ca.pending);
    return recaps;
  } finally {
    await session.close();
  }
};
const meshIp = (name: string) => loadInventory(lab.inventoryPath).hosts.find((h) => h.name === name)!.meshIp!;

/** Restarts Nebula on `name` and measures, inside the host, how long until `target` answers a ping (-1: not in 30 s). */
async function timeToFirstPing(name: string, target: string): Promise<number> {
  const out = await lab.host(name).exec(
    `/etc/init.d/nebula-mesh restart >/dev/null 2>&1; t0=$(date +%s%N); i=0; while [ $i -lt 300 ]; do if ping -c 1 -W 1 ${target} >/dev/null 2>&1; then echo $(( ($(date +%s%N) - t0) / 1000000 )); exit 0; fi; i=$((i+1)); done; echo -1`,
  );
  return Number(out.stdout.trim());
}
const sshBanner = async (from: string, to: string) =>
  (await lab.host(from).exec(`timeout 5 bash -c 'exec 3<>/dev/tcp/${to}/22 && head -c 8 <&3' 2>/dev/null; true`)).stdout;

beforeAll(async () => {
  process.env.MESH_CA_PASSPHRASE = PASSPHRASE;
  lab = await labUp({
    topology: "internet",
    hosts: [
      // The lab writes its gateway's address as public_address; behind CGNAT nothing reaches it inbound: none.
      { name: "hub", kind: "debian", group: "hub", home: {}, vars: { public_address: null } },
      { name: "relay", kind: "debian", group: "relays" },
      { name: "remote-a", kind: "debian", group: "uplinks", home: {} },
      { name: "remote-b", kind: "debian", group: "uplinks", home: { symmetricNat: true } },
    ],
  } as Parameters<typeof labUp>[0]);
  ca = await openInventoryCa(loadInventory(lab.inventoryPath), { create: true });
}, 600_000);
afterAll(async () => {
  await lab?.down();
});

describe("a hub with no inbound address", () => {
  it("converges, and a second run changes nothing", async () => {
    const first = await converge();
    for (const r of first) expect(r.failed, `${r.host} ${r.error ?? ""}`).toBe(0);
    const second = await converge();
    for (const r of second) expect(r.changed, `${r.host} ${r.error ?? ""}`).toBe(0);
    // The relay forwards nothing to a hub it cannot address: no forwarder table.
    expect((await lab.host("relay").exec("nft list table ip meshisp_relay 2>&1; true")).stdout).not.toContain("dnat");
  }, 600_000);

  it("a remote uplink behind an ordinary NAT finds it only through the relay's lighthouse and reaches it", async () => {
    // Its config has no address for the hub at all: what it knows of the hub comes from the relay's lighthouse.
    const config = (await lab.host("remote-a").exec("cat /etc/nebula/config.yml")).stdout;
    expect(config).not.toMatch(/"10\.0\.4\.1": \[/);
    expect(config).toMatch(/lighthouse:[\s\S]*hosts:\s*\n\s*- "10\.0\.4\.33"/);
    const ms = await timeToFirstPing("remote-a", "10.0.4.1");
    console.log(`remote-a -> hub: first ping ${ms} ms after nebula restart`);
    expect(ms).toBeGreaterThanOrEqual(0);
    // Which path won: 1.6.1 sends the direct handshake (to what the lighthouse reported) and the relay request in the
    // same attempt, and keeps whichever answers first (here the relay, twice out of two runs).
    const relayed = (await lab.host("hub").exec(`grep -E 'vpnIp=${meshIp("remote-a").replace(/\./g, "\\.")}( |$)' /var/log/nebula-mesh.log | grep -c 'relay=${meshIp("relay")}'; true`)).stdout.trim();
    console.log(`remote-a -> hub: hub log lines naming the relay for remote-a's handshakes: ${relayed}`);
  }, 120_000);

  it("a remote uplink behind symmetric NAT reaches it through Nebula relaying on the relay", async () => {
    const ms = await timeToFirstPing("remote-b", "10.0.4.1");
    console.log(`remote-b -> hub: first ping ${ms} ms after nebula restart (relayed)`);
    expect(ms).toBeGreaterThanOrEqual(0);
    const relayIp = meshIp("relay");
    const log = (await lab.host("hub").exec(`grep -E 'vpnIp=${meshIp("remote-b").replace(/\./g, "\\.")}( |$)' /var/log/nebula-mesh.log | tail -n 20`)).stdout;
    expect(log).toContain(`relay=${relayIp}`);
    const rtt = (await lab.host("remote-b").exec("ping -c 5 -i 0.2 -q 10.0.4.1 | tail -n 1")).stdout.trim();
    console.log(`remote-b -> hub relayed: ${rtt}`);
  }, 120_000);

  it("SSH over the mesh: the hub reaches the relay's sshd, an uplink does not", async () => {
    const relayIp = meshIp("relay");
    expect(await sshBanner("hub", relayIp)).toBe("SSH-2.0-");
    expect(await sshBanner("remote-a", relayIp)).toBe("");
    // ... while the uplink still pings the relay (Nebula's firewall drops SSH, not the tunnel).
    expect((await lab.host("remote-a").exec(`ping -c 2 -W 2 ${relayIp} >/dev/null 2>&1; echo $?`)).stdout.trim()).toBe("0");
  }, 60_000);
});
