// The nebula role's view of each node, table-driven: the peers it dials (static_host_map), its lighthouses, what it
// prefers, its relays, over inventories shaped like the internet preset and like the pilot (radio, hub behind CGNAT).
import { describe, expect, it } from "vitest";
import { nebulaDefaults } from "../../roles/nebula/defaults.ts";
import { nebulaSettings } from "../../roles/nebula/index.ts";
import { hostContext, inventoryFrom } from "../context.ts";

const mesh = (relays: string) => `
groups:
  hub:
    hosts:
      hub: { address: 198.18.1.2, os: debian, vars: { wan_address: 203.0.113.10 } }
  relays:
    hosts: {${relays}}
  uplinks:
    hosts:
      uplink-1: { address: 198.18.1.4, os: openwrt }
  clients:
    hosts:
      laptop: { address: 198.18.1.5, os: debian }
`;
const WITH_RELAY = mesh(" relay-1: { address: 198.18.1.3, os: debian, vars: { wan_address: 203.0.113.20 } } ");
const NO_RELAY = mesh("");
// The lab's internet preset writes public_address for every host: the relay on one becomes a lighthouse too.
const INTERNET = mesh(
  " relay-1: { address: 198.18.1.3, os: debian, vars: { wan_address: 203.0.113.20, public_address: 203.0.113.20 } } ",
).replace("vars: { wan_address: 203.0.113.10 }", "vars: { wan_address: 203.0.113.10, public_address: 203.0.113.10 }");

// The pilot: the hub on the radio and behind Starlink's CGNAT (no public_address), a relay on a public address, a
// radio uplink, a remote uplink, a client at home and a maintainer's laptop.
const pilot = (hubPublic = "") => `
groups:
  hub:
    hosts:
      hub: { address: 10.42.0.2, os: debian, vars: { wan_address: 100.64.0.2, ${hubPublic} radio_address: 10.44.0.1, radio_subnet: 10.44.0.0/24, lan_subnet: 10.42.0.0/24 } }
  relays:
    hosts:
      relay-1: { os: debian, mesh_ip: 10.0.4.33, vars: { wan_address: 203.0.113.20, public_address: 203.0.113.20 } }
  uplinks:
    hosts:
      radio-1: { os: openwrt, mesh_ip: 10.0.4.65, vars: { wan_address: 192.168.1.20, radio_address: 10.44.0.11, radio_subnet: 10.44.0.0/24, radio_device: radio0 } }
      remote-1: { os: openwrt, mesh_ip: 10.0.4.66, vars: { wan_address: 192.168.1.30 } }
  clients:
    hosts:
      phone: { os: debian, mesh_ip: 10.0.4.129 }
  admins:
    hosts:
      maintainer: { address: 10.42.0.50, os: debian }
`;
const PILOT = pilot();
const PILOT_PUBLIC_HUB = pilot("public_address: 198.51.100.77,");
const ALONE = PILOT.replace(/  relays:\n    hosts:\n.*\n/, "");

interface Case {
  name: string;
  yaml: string;
  host: string;
  vars?: Record<string, unknown>;
  /** static_host_map: mesh IP -> endpoints. */
  statics: Record<string, string[]>;
  lighthouses: string[];
  preferred: string[];
  relays: string[];
  amLighthouse: boolean;
  amRelay: boolean;
  port?: number;
}

const cases: Case[] = [
  // The internet preset, as before: the hub's own address, the relay's forwarder, the hub preferred.
  {
    name: "uplink, with a relay: the hub and the relay's forwarder, the hub preferred",
    yaml: WITH_RELAY,
    host: "uplink-1",
    statics: { "10.0.4.1": ["203.0.113.10:4242", "203.0.113.20:4243"] },
    lighthouses: ["10.0.4.1"],
    preferred: ["203.0.113.10/32"],
    relays: ["10.0.4.1", "10.0.4.33"],
    amLighthouse: false,
    amRelay: false,
    port: 0,
  },
  {
    name: "client, with a relay: the same",
    yaml: WITH_RELAY,
    host: "laptop",
    statics: { "10.0.4.1": ["203.0.113.10:4242", "203.0.113.20:4243"] },
    lighthouses: ["10.0.4.1"],
    preferred: ["203.0.113.10/32"],
    relays: ["10.0.4.1", "10.0.4.33"],
    amLighthouse: false,
    amRelay: false,
  },
  {
    name: "forwarder turned off: the hub only, nothing to prefer",
    yaml: WITH_RELAY,
    host: "uplink-1",
    vars: { nebula_relay_forward_port: 0 },
    statics: { "10.0.4.1": ["203.0.113.10:4242"] },
    lighthouses: ["10.0.4.1"],
    preferred: [],
    relays: ["10.0.4.1", "10.0.4.33"],
    amLighthouse: false,
    amRelay: false,
  },
  {
    name: "no relay in the mesh: the hub only",
    yaml: NO_RELAY,
    host: "uplink-1",
    statics: { "10.0.4.1": ["203.0.113.10:4242"] },
    lighthouses: ["10.0.4.1"],
    preferred: [],
    relays: ["10.0.4.1"],
    amLighthouse: false,
    amRelay: false,
  },
  {
    name: "the relay (no public_address) dials the hub directly, and relays for others",
    yaml: WITH_RELAY,
    host: "relay-1",
    statics: { "10.0.4.1": ["203.0.113.10:4242"] },
    lighthouses: ["10.0.4.1"],
    preferred: [],
    relays: [],
    amLighthouse: false,
    amRelay: true,
    port: 4242,
  },
  {
    name: "the hub: lighthouse and relay, nothing to dial",
    yaml: WITH_RELAY,
    host: "hub",
    statics: {},
    lighthouses: [],
    preferred: [],
    relays: [],
    amLighthouse: true,
    amRelay: true,
    port: 4242,
  },
  // The internet preset's relay on a public_address is a lighthouse too.
  {
    name: "internet preset: an uplink has two lighthouses, the hub (with the forwarder) and the relay",
    yaml: INTERNET,
    host: "uplink-1",
    statics: { "10.0.4.1": ["203.0.113.10:4242", "203.0.113.20:4243"], "10.0.4.33": ["203.0.113.20:4242"] },
    lighthouses: ["10.0.4.1", "10.0.4.33"],
    preferred: ["203.0.113.10/32"],
    relays: ["10.0.4.1", "10.0.4.33"],
    amLighthouse: false,
    amRelay: false,
  },
  {
    name: "internet preset: the relay is lighthouse and relay, dialling the hub",
    yaml: INTERNET,
    host: "relay-1",
    statics: { "10.0.4.1": ["203.0.113.10:4242"] },
    lighthouses: [],
    preferred: [],
    relays: [],
    amLighthouse: true,
    amRelay: true,
    port: 4242,
  },
  {
    name: "internet preset: the hub stays lighthouse, knows the relay's address",
    yaml: INTERNET,
    host: "hub",
    statics: { "10.0.4.33": ["203.0.113.20:4242"] },
    lighthouses: [],
    preferred: [],
    relays: [],
    amLighthouse: true,
    amRelay: true,
  },
  // The pilot: the hub behind CGNAT.
  {
    name: "pilot: a radio uplink dials the hub's radio address and prefers the radio; the relay is its lighthouse",
    yaml: PILOT,
    host: "radio-1",
    statics: { "10.0.4.1": ["10.44.0.1:4242"], "10.0.4.33": ["203.0.113.20:4242"] },
    lighthouses: ["10.0.4.33"],
    preferred: ["10.44.0.0/24"],
    relays: ["10.0.4.33"],
    amLighthouse: false,
    amRelay: false,
    port: 0,
  },
  {
    name: "pilot: a remote uplink finds the hub only through the relay's lighthouse, no forwarder",
    yaml: PILOT,
    host: "remote-1",
    statics: { "10.0.4.33": ["203.0.113.20:4242"] },
    lighthouses: ["10.0.4.33"],
    preferred: [],
    relays: ["10.0.4.33"],
    amLighthouse: false,
    amRelay: false,
  },
  {
    name: "pilot: a client likewise",
    yaml: PILOT,
    host: "phone",
    statics: { "10.0.4.33": ["203.0.113.20:4242"] },
    lighthouses: ["10.0.4.33"],
    preferred: [],
    relays: ["10.0.4.33"],
    amLighthouse: false,
    amRelay: false,
  },
  {
    name: "pilot: the hub is no lighthouse and no relay; it reports to the relay and names it its relay",
    yaml: PILOT,
    host: "hub",
    statics: { "10.0.4.33": ["203.0.113.20:4242"] },
    lighthouses: ["10.0.4.33"],
    preferred: ["10.44.0.0/24"],
    relays: ["10.0.4.33"],
    amLighthouse: false,
    amRelay: false,
    port: 4242,
  },
  {
    name: "pilot: the relay is lighthouse and relay, and has no way to dial the hub",
    yaml: PILOT,
    host: "relay-1",
    statics: {},
    lighthouses: [],
    preferred: [],
    relays: [],
    amLighthouse: true,
    amRelay: true,
    port: 4242,
  },
  {
    name: "pilot: a maintainer's laptop joins like a client",
    yaml: PILOT,
    host: "maintainer",
    statics: { "10.0.4.33": ["203.0.113.20:4242"] },
    lighthouses: ["10.0.4.33"],
    preferred: [],
    relays: ["10.0.4.33"],
    amLighthouse: false,
    amRelay: false,
  },
  // The pilot with a public kitchen line: the hub is the lighthouse again, radio first for radio nodes.
  {
    name: "pilot, hub on a public address: a radio uplink lists radio, public and forwarder, radio first",
    yaml: PILOT_PUBLIC_HUB,
    host: "radio-1",
    statics: {
      "10.0.4.1": ["10.44.0.1:4242", "198.51.100.77:4242", "203.0.113.20:4243"],
      "10.0.4.33": ["203.0.113.20:4242"],
    },
    lighthouses: ["10.0.4.1", "10.0.4.33"],
    preferred: ["10.44.0.0/24", "198.51.100.77/32"],
    relays: ["10.0.4.1", "10.0.4.33"],
    amLighthouse: false,
    amRelay: false,
  },
  {
    name: "pilot, hub on a public address: a remote uplink dials it there",
    yaml: PILOT_PUBLIC_HUB,
    host: "remote-1",
    statics: { "10.0.4.1": ["198.51.100.77:4242", "203.0.113.20:4243"], "10.0.4.33": ["203.0.113.20:4242"] },
    lighthouses: ["10.0.4.1", "10.0.4.33"],
    preferred: ["198.51.100.77/32"],
    relays: ["10.0.4.1", "10.0.4.33"],
    amLighthouse: false,
    amRelay: false,
  },
  // Radio only, no relay: the hub is the lighthouse over the radio.
  {
    name: "no relay, hub behind CGNAT: the hub is the radio's lighthouse",
    yaml: ALONE,
    host: "radio-1",
    statics: { "10.0.4.1": ["10.44.0.1:4242"] },
    lighthouses: ["10.0.4.1"],
    preferred: ["10.44.0.0/24"],
    relays: ["10.0.4.1"],
    amLighthouse: false,
    amRelay: false,
  },
];

describe("nebula settings per node", () => {
  for (const c of cases) {
    it(c.name, () => {
      const { config } = nebulaSettings(
        hostContext(inventoryFrom(c.yaml), c.host, { defaults: nebulaDefaults, extra: [c.vars ?? {}] }),
      );
      expect(Object.fromEntries(config.static_hosts.map((p) => [p.mesh_ip, p.endpoints]))).toEqual(c.statics);
      expect(config.lighthouses.map((l) => l.mesh_ip)).toEqual(c.lighthouses);
      expect(config.preferred_ranges).toEqual(c.preferred);
      expect(config.relays).toEqual(c.relays);
      expect({ lighthouse: config.am_lighthouse, relay: config.am_relay }).toEqual({
        lighthouse: c.amLighthouse,
        relay: c.amRelay,
      });
      if (c.port !== undefined) expect(config.listen_port).toBe(c.port);
    });
  }

  it("a remote node with no way to the hub is told what to add", () => {
    expect(() => nebulaSettings(hostContext(inventoryFrom(ALONE), "remote-1", { defaults: nebulaDefaults }))).toThrow(
      /remote-1 .*hosts\.yml:\d+\) cannot find the hub: the hub has no public_address/,
    );
  });
});
