// A host's route in a session: the inventory's address (or mesh IP) and ssh_via, unless the session's reach overrides it.
import { describe, expect, it } from "vitest";
import type { Host } from "../../lib/inventory/types.ts";
import { routeOf, type SessionOptions } from "../../lib/runner/session.ts";

const uplink = {
  name: "uplink-2",
  address: "10.0.4.66",
  port: 22,
  user: "root",
  group: "uplinks",
  meshIp: "10.0.4.66",
  via: "hub",
  vars: {},
  source: "t:1",
} as Host;
const hub = {
  name: "hub",
  address: "10.10.0.2",
  port: 22,
  user: "root",
  group: "hub",
  meshIp: "10.0.4.1",
  vars: {},
  source: "t:2",
} as Host;

const CASES: { name: string; host: Host; reach?: SessionOptions["reach"]; route: object }[] = [
  {
    name: "the inventory: mesh IP through the hub",
    host: uplink,
    route: { address: "10.0.4.66", port: 22, via: "hub" },
  },
  { name: "the inventory: the hub directly", host: hub, route: { address: "10.10.0.2", port: 22 } },
  {
    name: "enrollment: the router at its LAN address, directly (via: null)",
    host: uplink,
    reach: { "uplink-2": { address: "192.168.8.1", via: null } },
    route: { address: "192.168.8.1", port: 22 },
  },
  {
    name: "enrollment: the hub at its mesh IP through the new router",
    host: hub,
    reach: { hub: { address: "10.0.4.1", via: "uplink-2" } },
    route: { address: "10.0.4.1", port: 22, via: "uplink-2" },
  },
  {
    name: "an override without via keeps the inventory's",
    host: uplink,
    reach: { "uplink-2": { port: 2222 } },
    route: { address: "10.0.4.66", port: 2222, via: "hub" },
  },
  {
    name: "another host's override changes nothing",
    host: uplink,
    reach: { hub: { address: "1.2.3.4" } },
    route: { address: "10.0.4.66", port: 22, via: "hub" },
  },
];

describe("routeOf", () => {
  it.each(CASES)("$name", ({ host, reach, route }) => expect(routeOf(host, reach)).toEqual(route));
});
