// The radio port in the field's terms (issue 9): a home router's radio0, cabled to the NanoStation, comes up with no
// address (nobody gives it one on a real router). Enrollment finds it (the one free port with carrier), allocates the
// next free address of the hub's radio subnet, and the radio-port role writes it as a UCI interface that netifd applies;
// the tunnel then rides the radio. A converge from the kitchen twice changes nothing the second time; the address comes
// back by itself after a power cycle and after a sysupgrade that keeps settings (/etc/config is kept).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labUp, type Lab } from "../../scripts/lab/index.ts";
import { RADIO_HUB } from "../../scripts/lab/pilot/plan.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import { openInventoryCa } from "../../lib/pki/passphrase.ts";
import { Session, type SessionOptions } from "../../lib/runner/session.ts";
import type { HostRecap } from "../../lib/runner/report.ts";
import { enrollUplink } from "../../tasks/enroll/enroll.ts";
import { inspectRouter } from "../../tasks/enroll/checks.ts";
import { decideRadioPort, freePorts } from "../../tasks/enroll/radio.ts";
import { deployMesh } from "../../tasks/plays.ts";
import { waitFor } from "../helpers/poll.ts";

const PASSPHRASE = "radio port lab CA passphrase";
let lab: Lab<"pilot">;
let ca: Awaited<ReturnType<typeof openInventoryCa>>;
const router = () => lab.host("uplink-1");
const radioVars = () => loadInventory(lab.inventoryPath).hosts.find((h) => h.name === "uplink-1")!.vars;

/** The maintainer at the kitchen: the hub on its LAN, the router over the mesh through it. */
async function fromKitchen(options: SessionOptions = {}): Promise<{ recaps: HostRecap[]; changed: string[] }> {
  const session = new Session(loadInventory(lab.inventoryPath), {
    output: "silent",
    dial: lab.laptop("kitchen").dial,
    ...options,
  });
  try {
    const recaps = await deployMesh(session, ca);
    return {
      recaps,
      changed: session.reporter.events
        .filter((e) => e.status === "changed")
        .map((e) => `${e.host}: ${e.task} ${e.summary ?? ""}`),
    };
  } finally {
    await session.close();
  }
}

/** Polls a command on the router until it succeeds, or fails the test after `seconds`. */
async function until(what: string, cmd: string, seconds: number): Promise<number> {
  const start = Date.now();
  await waitFor(
    `${what} (${cmd})`,
    async () =>
      (
        await router()
          .exec(cmd)
          .catch(() => ({ code: 1 }))
      ).code === 0,
    { timeoutMs: seconds * 1000, everyMs: 250 },
  );
  return (Date.now() - start) / 1000;
}

const hasAddress = (cidr: string) => `ip -4 addr show dev radio0 | grep -q 'inet ${cidr} '`;

beforeAll(async () => {
  process.env.MESH_CA_PASSPHRASE = PASSPHRASE;
  lab = await labUp({
    topology: "pilot",
    hosts: [
      { name: "hub", kind: "debian", group: "hub" },
      {
        name: "uplink-1",
        kind: "openwrt",
        release: "24.10",
        group: "uplinks",
        site: "home",
        notInInventory: true,
        vars: { bandwidth: { up_mbit: 5, down_mbit: 20 } },
      },
    ],
  });
  ca = await openInventoryCa(loadInventory(lab.inventoryPath), { create: true });
}, 600_000);
afterAll(async () => {
  await lab?.down();
});

describe("a home router's radio port, configured the OpenWrt way", () => {
  it("before enrollment radio0 has carrier and no address, and /etc/config/network does not name it", async () => {
    const r = await router().exec(
      "cat /sys/class/net/radio0/carrier; ip -4 addr show dev radio0 | grep -c inet; uci -q show network | grep -c radio0; command -v uci; command -v ifup",
    );
    expect(r.stdout.trim().split("\n")).toEqual(["1", "0", "0", "/sbin/uci", "/sbin/ifup"]);
    expect((await router().exec(`ping -c 1 -W 1 ${RADIO_HUB}`)).code).not.toBe(0);
  });

  it("enrollment finds radio0, gives it the first free address of the hub's radio subnet, and the tunnel rides the radio", async () => {
    const deployed = await fromKitchen();
    for (const r of deployed.recaps) expect([r.failed, r.unreachable], `${r.host}: ${r.error}`).toEqual([0, false]);
    const log: string[] = [];
    await lab.installer.plugInto("uplink-1");
    try {
      const result = await enrollUplink(
        {
          inventoryFile: lab.inventoryPath,
          address: "192.168.8.1",
          name: "uplink-1",
          volunteer: { name: "Ada", contact: "ada@example.org" },
          bandwidth: { up_mbit: 5, down_mbit: 20 },
          askNewPassword: async () => "uplink-1 root password",
        },
        ca,
        (line) => log.push(line),
        { dial: lab.laptop("installer").dial },
      );
      expect(result.hubUpdated, log.join("\n")).toBe(true);
    } finally {
      await lab.installer.unplug();
    }
    expect(log.join("\n")).toContain("radio0 is the only free port with carrier");
    // The hub has 10.44.0.1: the router gets .2, not the lab's plan (the lab gives a router nothing).
    const v = radioVars();
    expect([v.radio_device, v.radio_address, v.radio_subnet]).toEqual(["radio0", "10.44.0.2", "10.44.0.0/24"]);
    const uci = await router().exec(
      "uci get network.meshradio; uci get network.meshradio.device; uci get network.meshradio.proto; uci get network.meshradio.ipaddr; uci get network.meshradio.netmask; uci changes",
    );
    expect(uci.stdout).toBe("interface\nradio0\nstatic\n10.44.0.2\n255.255.255.0\n");
    expect((await router().exec(hasAddress("10.44.0.2/24"))).code).toBe(0);
    // 5 pings of 4000 bytes to the hub over the mesh: about 20 kB leave by radio0, not by wan0.
    const bytes = await router().exec(`b() { cat /sys/class/net/$1/statistics/tx_bytes; }
r=$(b radio0); w=$(b wan0); ping -c 5 -s 4000 -W 2 10.0.4.1 >/dev/null; echo "$(( $(b radio0) - r )) $(( $(b wan0) - w ))"`);
    const [radio, wan] = bytes.stdout.trim().split(" ").map(Number);
    expect([radio >= 20_000, wan < 10_000], bytes.stdout).toEqual([true, true]);
  }, 600_000);

  it("from the kitchen: a converge, then a second with 0 changes; --check after it plans nothing", async () => {
    const first = await fromKitchen();
    for (const r of first.recaps) expect([r.failed, r.unreachable], `${r.host}: ${r.error}`).toEqual([0, false]);
    const second = await fromKitchen();
    for (const r of second.recaps) expect(r.changed, `${r.host}:\n${second.changed.join("\n")}`).toBe(0);
    const check = await fromKitchen({ check: true });
    expect(check.changed).toEqual([]);
  }, 300_000);

  it("the probe on the real router: radio0 is now in UCI; two new free ports with carrier are ambiguous", async () => {
    // A second cable with link on two spare ports (a veth pair inside the router's own namespace).
    await router().exec("ip link add lan4 type veth peer name lan5 && ip link set lan4 up && ip link set lan5 up");
    const session = new Session(loadInventory(lab.inventoryPath), {
      output: "silent",
      dial: lab.laptop("kitchen").dial,
    });
    try {
      const facts = await inspectRouter(
        await session.connect(loadInventory(lab.inventoryPath).hosts.find((h) => h.name === "uplink-1")!),
      );
      expect(facts.ports.find((p) => p.device === "radio0")).toEqual({
        device: "radio0",
        kind: "port",
        carrier: 1,
        inUci: true,
      });
      expect(facts.ports.find((p) => p.device === "lan1")).toBeUndefined();
      expect(facts.ports.find((p) => p.device === "br-lan")?.kind).toBe("bridge");
      expect(facts.ports.find((p) => p.device === "nebula1")?.kind).toBe("tun");
      expect(
        freePorts(facts.ports)
          .map((p) => p.device)
          .sort(),
      ).toEqual(["lan4", "lan5"]);
      expect(() => decideRadioPort({ ports: facts.ports, choice: {}, hubSubnet: "10.44.0.0/24" })).toThrow(
        /more than one port could be the radio's: lan4, lan5/,
      );
      // The inventory's node keeps its radio0 (a re-run is not ambiguous).
      expect(
        decideRadioPort({ ports: facts.ports, choice: {}, hubSubnet: "10.44.0.0/24", known: radioVars() }).device,
      ).toBe("radio0");
    } finally {
      await session.close();
      await router().exec("ip link del lan4");
    }
  }, 120_000);

  it("after a power cycle the address comes back by itself (S20network), and the mesh with it", async () => {
    const { ms } = await router().reboot();
    const back = await until("radio0's address after a reboot", hasAddress("10.44.0.2/24"), 30);
    const mesh = await until("the hub over the mesh after a reboot", "ping -c 1 -W 1 10.0.4.1", 60);
    console.log(
      `uplink-1: reboot ${ms} ms to SSH, radio0 addressed ${back.toFixed(1)} s later, the hub over the mesh ${mesh.toFixed(1)} s later`,
    );
    expect((await router().exec(`ping -c 1 -W 2 ${RADIO_HUB}`)).code).toBe(0);
  }, 180_000);

  it("after a sysupgrade keeping settings the address comes back by itself; a converge then settles, a second changes nothing", async () => {
    const { ms } = await router().sysupgrade();
    const back = await until("radio0's address after a sysupgrade", hasAddress("10.44.0.2/24"), 30);
    expect((await router().exec("grep -c \"config interface 'meshradio'\" /etc/config/network")).stdout.trim()).toBe(
      "1",
    );
    expect((await router().exec(`ping -c 1 -W 2 ${RADIO_HUB}`)).code).toBe(0);
    // The rest (nebula is an opkg package: gone with the old image) comes back through the sysupgrade role's restore.
    const mesh = await until("the hub over the mesh after a sysupgrade", "ping -c 1 -W 1 10.0.4.1", 300);
    console.log(
      `uplink-1: sysupgrade ${ms} ms to SSH, radio0 addressed ${back.toFixed(1)} s later, the hub over the mesh ${mesh.toFixed(1)} s later`,
    );
    const after = await fromKitchen();
    for (const r of after.recaps) expect(r.failed, `${r.host}: ${r.error ?? ""}`).toBe(0);
    const again = await fromKitchen();
    for (const r of again.recaps) expect(r.changed, `${r.host}:\n${again.changed.join("\n")}`).toBe(0);
  }, 600_000);
});
