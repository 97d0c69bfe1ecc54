// The nebula role's view of each node, table-driven: which endpoints it dials for the hub, which it prefers, its relays.
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

const cases: { name: string; yaml: string; host: string; vars?: Record<string, unknown>; endpoints: string[]; preferred: string[]; relays: string[] }[] = [
  { name: "uplink, with a relay: the hub and the relay's forwarder, the hub preferred", yaml: WITH_RELAY, host: "uplink-1", endpoints: ["203.0.113.10:4242", "203.0.113.20:4243"], preferred: ["203.0.113.10/32"], relays: ["10.0.4.1", "10.0.4.33"] },
  { name: "client, with a relay: the same", yaml: WITH_RELAY, host: "laptop", endpoints: ["203.0.113.10:4242", "203.0.113.20:4243"], preferred: ["203.0.113.10/32"], relays: ["10.0.4.1", "10.0.4.33"] },
  { name: "forwarder turned off: the hub only, nothing to prefer", yaml: WITH_RELAY, host: "uplink-1", vars: { nebula_relay_forward_port: 0 }, endpoints: ["203.0.113.10:4242"], preferred: [], relays: ["10.0.4.1", "10.0.4.33"] },
  { name: "no relay in the mesh: the hub only", yaml: NO_RELAY, host: "uplink-1", endpoints: ["203.0.113.10:4242"], preferred: [], relays: ["10.0.4.1"] },
  { name: "the relay itself dials the hub directly, and relays for others (no relays of its own)", yaml: WITH_RELAY, host: "relay-1", endpoints: ["203.0.113.10:4242"], preferred: [], relays: [] },
  { name: "the hub: its own endpoint only", yaml: WITH_RELAY, host: "hub", endpoints: ["203.0.113.10:4242"], preferred: [], relays: [] },
];

describe("nebula settings per node", () => {
  for (const c of cases) {
    it(c.name, () => {
      const { config } = nebulaSettings(hostContext(inventoryFrom(c.yaml), c.host, { defaults: nebulaDefaults, extra: [c.vars ?? {}] }));
      expect(config.lighthouses.map((l) => l.endpoints)).toEqual([c.endpoints]);
      expect(config.preferred_ranges).toEqual(c.preferred);
      expect(config.relays).toEqual(c.relays);
    });
  }
});
