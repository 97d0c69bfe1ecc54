// Enrollment finds the router's port to the NanoStation (the one free port with carrier, or --radio-port), refuses
// ambiguity, and gives it the next free address of the hub's radio subnet, under the inventory's lock, never twice.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadInventory } from "../../lib/inventory/load.ts";
import {
  addUplinkWithRadio,
  decideRadioPort,
  freeRadioAddress,
  parseAddresses,
  parsePorts,
  syncRadioVars,
  type RouterPort,
} from "../../tasks/enroll/radio.ts";

const BUSYBOX = `1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000
    inet 127.0.0.1/8 scope host lo
4: br-lan: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue qlen 1000
    inet 192.168.8.1/24 brd 192.168.8.255 scope global br-lan
5: wan0@if6: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue qlen 1000
    inet 192.168.12.2/24 brd 192.168.12.255 scope global wan0`;

describe("the router's addresses", () => {
  it("reads each inet line's address and device (the line's last word)", () => {
    expect(parseAddresses(BUSYBOX)).toEqual([
      { device: "lo", cidr: "127.0.0.1/8" },
      { device: "br-lan", cidr: "192.168.8.1/24" },
      { device: "wan0", cidr: "192.168.12.2/24" },
    ]);
  });
});

// What the probe prints on a lab home router before enrollment: br-lan with the installer's lan1, wan0 in UCI's wan,
// radio0 cabled to the NanoStation and in nothing.
const PROBE = `dev br-lan bridge 1
dev lan1 member 1
dev lo port 1
dev radio0 port 1
dev wan0 port 1
uci 'lo'
uci 'br-lan' 'mgmt0'
uci 'wan0'
uci 'wan0'`;

describe("the router's ports", () => {
  it("reads kind and carrier from /sys and which devices /etc/config/network names", () => {
    expect(parsePorts(PROBE)).toEqual([
      { device: "br-lan", kind: "bridge", carrier: 1, inUci: true },
      { device: "lan1", kind: "member", carrier: 1, inUci: false },
      { device: "lo", kind: "port", carrier: 1, inUci: true },
      { device: "radio0", kind: "port", carrier: 1, inUci: false },
      { device: "wan0", kind: "port", carrier: 1, inUci: true },
    ]);
  });
});

const port = (device: string, more: Partial<RouterPort> = {}): RouterPort => ({
  device,
  kind: "port",
  carrier: 1,
  inUci: false,
  ...more,
});
const HOME = parsePorts(PROBE);
const REMOTE = HOME.filter((p) => p.device !== "radio0");
const SUBNET = "10.44.0.0/24";

describe("which port is the radio's", () => {
  it.each([
    ["a home router: radio0 is the one free port with carrier", HOME, {}, SUBNET, undefined, "radio0"],
    ["a remote router: no free port", REMOTE, {}, SUBNET, undefined, null],
    [
      "a free port without carrier is not taken",
      [...REMOTE, port("lan4", { carrier: 0 })],
      {},
      SUBNET,
      undefined,
      null,
    ],
    [
      "a port that is down (no carrier reported) is not taken",
      [...REMOTE, port("lan4", { carrier: null })],
      {},
      SUBNET,
      undefined,
      null,
    ],
    [
      "a Nebula tun, a VXLAN and shaping's IFB are never taken",
      [...REMOTE, port("nebula1", { kind: "tun" }), port("mu-hub", { kind: "virtual" }), port("ifb-mesh")],
      {},
      SUBNET,
      undefined,
      null,
    ],
    ["a port in a UCI interface is not free", [...REMOTE, port("lan4", { inUci: true })], {}, SUBNET, undefined, null],
    ["--radio-port names it", [...HOME, port("lan4")], { port: "lan4" }, SUBNET, undefined, "lan4"],
    ["--no-radio", HOME, { none: true }, SUBNET, undefined, null],
    ["a hub with no radio_subnet: nothing is looked for", HOME, {}, undefined, undefined, null],
    [
      "a re-run keeps the inventory's device (now in UCI's meshradio)",
      HOME.map((p) => (p.device === "radio0" ? { ...p, inUci: true } : p)),
      {},
      SUBNET,
      { radio_device: "radio0" },
      "radio0",
    ],
  ])("%s", (_what, ports, choice, hubSubnet, known, device) => {
    expect(decideRadioPort({ ports, choice, hubSubnet, known }).device).toBe(device);
  });

  it.each([
    [
      "two free ports with carrier",
      [...HOME, port("lan4")],
      {},
      SUBNET,
      /more than one port could be the radio's: radio0, lan4/,
    ],
    [
      "--radio-port of a device the router lacks",
      HOME,
      { port: "eth9" },
      SUBNET,
      /--radio-port eth9: the router has no such device \(it has br-lan, lan1, lo, radio0, wan0\)/,
    ],
    ["--radio-port of a bridge member", HOME, { port: "lan1" }, SUBNET, /--radio-port lan1: that is a bridge's member/],
    [
      "--radio-port with a hub without radio",
      HOME,
      { port: "radio0" },
      undefined,
      /the inventory's hub has no radio_subnet/,
    ],
    ["--radio-port and --no-radio", HOME, { port: "radio0", none: true }, SUBNET, /contradict/],
  ])("refuses %s", (_what, ports, choice, hubSubnet, message) => {
    expect(() => decideRadioPort({ ports, choice, hubSubnet })).toThrow(message);
  });

  it("says how to choose when ambiguous", () => {
    const thrown = (() => {
      try {
        decideRadioPort({ ports: [...HOME, port("lan4")], choice: {}, hubSubnet: SUBNET });
      } catch (err) {
        return err as { hint?: string };
      }
    })();
    expect(thrown?.hint).toMatch(/--radio-port <device>.*--no-radio/);
  });
});

const INVENTORY = `ssh_key: /dev/null
groups:
  hub:
    hosts:
      hub: { address: 10.42.0.1, os: debian, vars: { radio_address: 10.44.0.1, radio_subnet: 10.44.0.0/24, radio_device: radio0 } }
  uplinks:
    vars: { ssh_via: hub }
    hosts:
      uplink-1: { os: openwrt, mesh_ip: 10.0.4.65, vars: { radio_address: 10.44.0.3, radio_subnet: 10.44.0.0/24, radio_device: radio0 } }
`;
const inventoryFile = () => {
  const file = join(mkdtempSync(join(tmpdir(), "enroll-radio-")), "hosts.yml");
  writeFileSync(file, INVENTORY);
  return file;
};

describe("the radio address", () => {
  it("is the lowest one of the subnet no node has (the hub's included)", () => {
    expect(freeRadioAddress(loadInventory(inventoryFile()), SUBNET)).toBe("10.44.0.2");
  });

  it("two enrollments at once get two addresses; the file keeps its comments", async () => {
    const file = inventoryFile();
    writeFileSync(file, `# the pilot\n${readFileSync(file, "utf8")}`);
    const fields = { os: "openwrt", vars: { bandwidth: { up_mbit: 5, down_mbit: 20 } } };
    await Promise.all([
      addUplinkWithRadio(file, "uplink-2", fields, "radio0"),
      addUplinkWithRadio(file, "uplink-3", fields, "lan4"),
    ]);
    const inv = loadInventory(file);
    const got = ["uplink-2", "uplink-3"].map((n) => inv.hosts.find((h) => h.name === n)!.vars);
    expect(got.map((v) => v.radio_address).sort()).toEqual(["10.44.0.2", "10.44.0.4"]);
    expect(got.map((v) => [v.radio_subnet, v.radio_device])).toEqual([
      [SUBNET, "radio0"],
      [SUBNET, "lan4"],
    ]);
    expect(readFileSync(file, "utf8")).toMatch(/^# the pilot\n/);
    // And never one another node has, whatever was written before.
    expect(new Set(inv.hosts.map((h) => h.vars.radio_address)).size).toBe(4);
  });

  it("a re-run keeps the node's address, --radio-port changes only the device, --no-radio removes the vars", async () => {
    const file = inventoryFile();
    expect(await syncRadioVars(file, "uplink-1", "radio0")).toEqual({
      radio_address: "10.44.0.3",
      radio_subnet: SUBNET,
      radio_device: "radio0",
    });
    const unchanged = readFileSync(file, "utf8");
    await syncRadioVars(file, "uplink-1", "radio0");
    expect(readFileSync(file, "utf8")).toBe(unchanged);
    expect(await syncRadioVars(file, "uplink-1", "lan4")).toEqual({
      radio_address: "10.44.0.3",
      radio_subnet: SUBNET,
      radio_device: "lan4",
    });
    expect(await syncRadioVars(file, "uplink-1", null)).toBeNull();
    const vars = loadInventory(file).hosts.find((h) => h.name === "uplink-1")!.vars;
    expect([vars.radio_address, vars.radio_subnet, vars.radio_device]).toEqual([undefined, undefined, undefined]);
    // Back on the radio: the next free address again.
    expect((await syncRadioVars(file, "uplink-1", "radio0"))?.radio_address).toBe("10.44.0.2");
  });

  it("a node whose address another node took gets a free one", async () => {
    const file = inventoryFile();
    writeFileSync(file, readFileSync(file, "utf8").replace("radio_address: 10.44.0.3", "radio_address: 10.44.0.1"));
    expect((await syncRadioVars(file, "uplink-1", "radio0"))?.radio_address).toBe("10.44.0.2");
  });
});
