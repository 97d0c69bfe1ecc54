// The pilot topology's address plan, its checks, its inventory (loaded by the real loader) and its radio shaping lines.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadInventory } from "../../lib/inventory/load.ts";
import { pilotInventoryYaml } from "../../scripts/lab/pilot/inventory.ts";
import {
  pilotCoreScript,
  plugScript,
  radioRateScript,
  pilotFreshNetnsScript,
  pilotHostNetworkScript,
} from "../../scripts/lab/pilot/network.ts";
import { checkInstallers, pilotNames, planPilot } from "../../scripts/lab/pilot/plan.ts";
import { planLab } from "../../scripts/lab/plan.ts";
import { PILOT_TOPOLOGY } from "../../scripts/lab/topology.ts";
import type { LabHostSpec } from "../../scripts/lab/types.ts";

const plans = planPilot("mltest", PILOT_TOPOLOGY);
const byName = (name: string) => plans.find((p) => p.spec.name === name)!;

describe("the pilot's address plan (PILOT_TOPOLOGY)", () => {
  it.each([
    // name, site, wan0, public (its own or its gateway's), gateway, radio, br-lan, mesh IP
    ["hub", "kitchen", "100.64.0.2", "203.0.113.10", "100.64.0.1", "10.44.0.1", undefined, "10.0.4.1"],
    ["relay", "public", "203.0.113.11", "203.0.113.11", undefined, undefined, undefined, "10.0.4.33"],
    ["uplink-1", "home", "192.168.12.2", "203.0.113.12", "192.168.12.1", "10.44.0.12", "192.168.8.1", "10.0.4.65"],
    ["uplink-2", "home", "192.168.13.2", "203.0.113.13", "192.168.13.1", "10.44.0.13", "192.168.8.1", "10.0.4.66"],
    ["uplink-3", "remote", "192.168.14.2", "203.0.113.14", "192.168.14.1", undefined, "192.168.8.1", "10.0.4.67"],
    ["client-1", "remote", "192.168.15.2", "203.0.113.15", "192.168.15.1", undefined, undefined, "10.0.4.129"],
  ])(
    "%s: site %s, wan0 %s, public %s, gateway %s, radio %s, br-lan %s, mesh %s",
    (name, site, wan, pub, gateway, radio, routerLan, meshIp) => {
      const p = byName(name);
      expect([
        p.pilot.site,
        p.wanAddress,
        p.publicAddress,
        p.home?.gatewayLan,
        p.pilot.radio?.address,
        p.pilot.routerLan?.address,
        p.pilot.meshIp,
      ]).toEqual([site, wan, pub, gateway, radio, routerLan, meshIp]);
    },
  );

  it("puts the kitchen LAN on the hub (device .10, laptop .20), Starlink's CGNAT as a /10, radio rates on home links only", () => {
    const hub = byName("hub");
    expect([
      hub.lan?.hostAddress,
      hub.lan?.deviceAddress,
      hub.pilot.kitchen?.laptopAddress,
      hub.home?.prefix,
      hub.home?.netns,
    ]).toEqual(["10.42.0.1", "10.42.0.10", "10.42.0.20", 10, "mltest-sl"]);
    expect(plans.map((p) => p.pilot.radio?.mbit)).toEqual([undefined, undefined, 150, 150, undefined, undefined]);
    expect(
      planPilot(
        "mltest",
        PILOT_TOPOLOGY.map((s) => (s.name === "uplink-2" ? { ...s, radioMbit: 40 } : s)),
      )[3].pilot.radio?.mbit,
    ).toBe(40);
  });

  it("defaults the site from the group and leaves hosts waiting for enrollment without a mesh IP", () => {
    const p = planPilot("mltest", [
      { name: "h", kind: "debian", group: "hub" },
      { name: "r", kind: "debian", group: "relays" },
      { name: "u", kind: "openwrt", group: "uplinks", notInInventory: true },
      { name: "u2", kind: "openwrt", group: "uplinks" },
      { name: "c", kind: "debian", group: "clients" },
    ]);
    expect(p.map((x) => [x.pilot.site, x.pilot.meshIp])).toEqual([
      ["kitchen", "10.0.4.1"],
      ["public", "10.0.4.33"],
      ["home", undefined],
      ["home", "10.0.4.65"],
      ["remote", "10.0.4.129"],
    ]);
  });

  it("never creates a link in the root namespace: every `ip link add` runs inside a lab namespace", () => {
    const n = pilotNames("mltest");
    const scripts = plans.flatMap((p) => [pilotHostNetworkScript(p, n), pilotFreshNetnsScript(p)]).join("\n");
    const adds = scripts.split("\n").filter((l) => /\blink add\b/.test(l));
    expect(adds.length).toBeGreaterThan(10);
    expect(adds.filter((l) => !/^ip -n \S+ link add/.test(l))).toEqual([]);
    expect(scripts).not.toMatch(/^ip (addr|route|link set \S+ master)/m);
  });
});

describe("installers' laptops (LabSpec.installers)", () => {
  it("one by default; each further laptop has a namespace, a router LAN port and an address of its own", () => {
    expect(pilotNames("mltest").installerLaptops).toEqual(["mltest-lapi"]);
    const n = pilotNames("mltest", 2);
    expect([n.installerLaptop, n.installerLaptops]).toEqual(["mltest-lapi", ["mltest-lapi", "mltest-lapi2"]]);
    expect(pilotCoreScript(n, byName("hub"))).toContain("ip netns add mltest-lapi2 ");
    const router = byName("uplink-1");
    expect(plugScript(router, "mltest-lapi")).toMatch(
      /link add lan1 type veth peer name eth0 netns 'mltest-lapi'\n[\s\S]*addr add 192\.168\.8\.100\/24/,
    );
    expect(plugScript(router, "mltest-lapi2", 1)).toMatch(
      /link add lan2 type veth peer name eth0 netns 'mltest-lapi2'\n[\s\S]*addr add 192\.168\.8\.101\/24/,
    );
    // A reboot keeps whichever laptops are plugged in: every installer's port is moved aside and back into br-lan.
    expect(pilotFreshNetnsScript(router)).toMatch(/link show lan2 [\s\S]*lan2 master br-lan/);
  });

  it.each([0, 5, 1.5, "2"])("refuses installers: %j", (value) => {
    expect(() => checkInstallers(value)).toThrow(/installers must be a whole number from 1 to 4/);
  });
});

describe("the pilot's spec checks", () => {
  const hub: LabHostSpec = { name: "hub", kind: "debian", group: "hub" };
  const up: LabHostSpec = { name: "up", kind: "openwrt", group: "uplinks" };
  it.each<[string, LabHostSpec[], RegExp]>([
    ["no hub", [up], /exactly one host sits in the kitchen.*found 0/],
    ["two kitchens", [hub, { ...up, site: "kitchen" }], /exactly one host sits in the kitchen.*found 2: hub, up/],
    [
      "an unknown site",
      [hub, { ...up, site: "attic" as never }],
      /host #2 \(up\): site must be one of "kitchen", "home", "remote", "public", got "attic"/,
    ],
    [
      "a rate off the radio",
      [hub, { ...up, site: "remote", radioMbit: 50 }],
      /host #2 \(up\): radioMbit is for hosts on the radio .*"remote"/,
    ],
    [
      "a rate of zero",
      [hub, { ...up, radioMbit: 0 }],
      /host #2 \(up\): radioMbit must be a whole number of Mbit\/s from 1/,
    ],
    [
      "a LAN on a router",
      [hub, { ...up, lan: { subnet: "10.50.0.0/24" } }],
      /host #2 \(up\): lan is for the kitchen host/,
    ],
    [
      "a kitchen LAN on the radio's range",
      [{ ...hub, lan: { subnet: "10.44.0.0/24" } }],
      /host #1 \(hub\): lan.subnet 10.44.0.0\/24 overlaps 10.44.0.0\/24/,
    ],
    [
      "a home for a public host",
      [hub, { name: "r", kind: "debian", group: "relays", home: {} }],
      /host #2 \(r\): home is for hosts at a home/,
    ],
    [
      "a group outside the mesh",
      [hub, { name: "b", kind: "debian", group: "bench" }],
      /host #2 \(b\): group must be hub, relays, uplinks or clients in the pilot topology/,
    ],
  ])("refuses %s", (_name, specs, message) => {
    expect(() => planPilot("mltest", specs)).toThrow(message);
  });

  it("the internet topology refuses the pilot's fields", () => {
    expect(() => planLab("mltest", 1, [{ ...hub, site: "kitchen" }])).toThrow(
      /host #1 \(hub\): site is for the pilot topology only/,
    );
    expect(() => planLab("mltest", 1, [{ ...up, radioMbit: 20 }])).toThrow(/radioMbit is for the pilot topology only/);
  });
});

describe("the pilot's inventory", () => {
  const dir = mkdtempSync(join(tmpdir(), "lab-pilot-"));
  const file = join(dir, "inventory.yml");
  writeFileSync(file, pilotInventoryYaml({ runId: "mltest", sshKeyPath: "/k", knownHostsPath: "/kh" }, plans));
  const inventory = loadInventory(file);
  const host = (name: string) => inventory.hosts.find((h) => h.name === name)!;

  it.each([
    // name, address the runner uses, via, wan_address, public_address, radio_address, lan_subnet
    ["hub", "10.42.0.1", undefined, "100.64.0.2", undefined, "10.44.0.1", "10.42.0.0/24"],
    ["relay", "203.0.113.11", "hub", "203.0.113.11", "203.0.113.11", undefined, undefined],
    ["uplink-1", "10.0.4.65", "hub", "192.168.12.2", undefined, "10.44.0.12", "192.168.8.0/24"],
    ["uplink-3", "10.0.4.67", "hub", "192.168.14.2", undefined, undefined, "192.168.8.0/24"],
    ["client-1", "10.0.4.129", "hub", "192.168.15.2", undefined, undefined, undefined],
  ])("%s: reached at %s via %s; wan %s, public %s, radio %s, lan %s", (name, address, via, wan, pub, radio, lan) => {
    const h = host(name);
    expect([
      h.address,
      h.via,
      h.vars.wan_address,
      h.vars.public_address,
      h.vars.radio_address,
      h.vars.lan_subnet,
    ]).toEqual([address, via, wan, pub, radio, lan]);
  });

  it("gives radio hosts the subnet and device, and the hub Starlink as its backup route", () => {
    expect([
      host("uplink-1").vars.radio_subnet,
      host("uplink-1").vars.radio_device,
      host("hub").vars.radio_device,
    ]).toEqual(["10.44.0.0/24", "radio0", "radio0"]);
    expect(host("hub").vars.routing_backup).toEqual({ device: "wan0", gateway: "100.64.0.1" });
    expect(host("uplink-3").vars.radio_device).toBeUndefined();
  });
});

describe("the radio link's rate", () => {
  it.each([
    // Mbit/s, the byte fifo (20 ms at the rate, at least 64 kB)
    [150, 375000],
    [10, 64000],
  ])("%i Mbit/s: HTB both ways (the port's egress and an IFB fed from its ingress), fifo %i bytes", (mbit, limit) => {
    const lines = radioRateScript("mltest-rad", "r2", "rb2", mbit).split("\n");
    expect(lines.filter((l) => l.includes(`htb rate ${mbit}mbit ceil ${mbit}mbit`)).length).toBe(2);
    expect(lines.filter((l) => l.includes(`bfifo limit ${limit}`)).length).toBe(2);
    expect(lines).toContain(
      "tc -n mltest-rad filter add dev r2 parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev rb2",
    );
    expect(lines.every((l) => /^(tc|ip) -n mltest-rad /.test(l))).toBe(true);
  });
});
