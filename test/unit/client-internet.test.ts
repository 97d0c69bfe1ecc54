// Clients' internet through the mesh, table-driven: the client's unsafe routes and the hub's certificate subnets from
// the inventory, and the client's underlay host routes from `ip -j route` (routes in, commands out, none when converged).
import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadInventory } from "../../lib/inventory/load.ts";
import { mergeVars } from "../../lib/inventory/vars.ts";
import type { HostContext } from "../../lib/play.ts";
import { UserError } from "../../lib/errors.ts";
import { nebulaSettings } from "../../roles/nebula/index.ts";
import { nebulaDefaults } from "../../roles/nebula/defaults.ts";
import { routingClientRole } from "../../roles/routing/client.ts";
import { mainRoutesFact, parseMainRoutes, type MainRoute } from "../../roles/routing/ip-facts.ts";
import { identified, planOne } from "../helpers/plan.ts";
import { planUnderlayRoutes, underlayBootCommands } from "../../roles/routing/underlay.ts";
import {
  planUnderlayRule,
  underlayRuleBootCommands,
  underlayRulesFact,
  type UnderlayRule,
} from "../../roles/routing/underlay-rule.ts";

const inventoryYaml = (clientVars: string) => `
groups:
  hub:
    hosts:
      hub: { address: 198.18.1.2, os: debian, vars: { nebula_public_address: 203.0.113.10, nebula_subnets: [10.42.0.0/24] } }
  relays:
    hosts:
      relay-1: { address: 198.18.1.3, os: debian, vars: { wan_address: 203.0.113.20 } }
  uplinks:
    hosts:
      uplink-1: { address: 198.18.1.4, os: openwrt }
  clients:
    hosts:
      laptop: { address: 198.18.1.5, os: debian${clientVars} }
      phone: { address: 198.18.1.6, os: debian }
`;
function ctx(yaml: string, name: string): HostContext {
  const file = join(mkdtempSync(join(tmpdir(), "meshisp-clients-")), "hosts.yml");
  writeFileSync(file, yaml);
  const inventory = loadInventory(file);
  const host = inventory.hosts.find((h) => h.name === name)!;
  return {
    host,
    os: "debian",
    facts: identified("debian", name, "initd"),
    vars: mergeVars(nebulaDefaults, host.vars, {}),
    inventory,
  };
}
const OPTED_IN = inventoryYaml(", vars: { client_internet_via_mesh: true }");
const NOBODY = inventoryYaml("");
const HALVES_VIA_HUB = [
  { route: "0.0.0.0/1", via: "10.0.4.1" },
  { route: "128.0.0.0/1", via: "10.0.4.1" },
];

describe("Nebula settings for clients' internet", () => {
  it.each([
    ["the client that opts in: both halves via the hub", OPTED_IN, "laptop", { subnets: [], routes: HALVES_VIA_HUB }],
    ["a client that does not: nothing", OPTED_IN, "phone", { subnets: [], routes: [] }],
    [
      "the hub once a client opts in: its LAN and both halves in its certificate",
      OPTED_IN,
      "hub",
      { subnets: ["10.42.0.0/24", "0.0.0.0/1", "128.0.0.0/1"], routes: [] },
    ],
    ["the hub when no client opts in: its LAN only", NOBODY, "hub", { subnets: ["10.42.0.0/24"], routes: [] }],
    ["a relay: never", OPTED_IN, "relay-1", { subnets: [], routes: [] }],
    ["an uplink: never", OPTED_IN, "uplink-1", { subnets: [], routes: [] }],
  ])("%s", (_what, yaml, name, want) => {
    const s = nebulaSettings(ctx(yaml, name));
    expect(s.request.subnets).toEqual(want.subnets);
    expect(s.config.unsafe_routes).toEqual(want.routes);
  });
});

const DEFAULT: MainRoute = { dst: "default", gateway: "192.168.3.1", dev: "wan0", metric: 0, protocol: "boot" };
const HOME_LAN: MainRoute = { dst: "192.168.3.0/24", dev: "wan0", metric: 0, protocol: "kernel" };
const TUN_HALF: MainRoute = { dst: "0.0.0.0/1", dev: "nebula1", metric: 0, protocol: "boot" };
const ours = (dst: string, gateway = "192.168.3.1", dev = "wan0"): MainRoute => ({
  dst,
  gateway,
  dev,
  metric: 0,
  protocol: "77",
});
const HUB = "203.0.113.10";
const RELAY = "203.0.113.20";

describe("underlay host routes on the client", () => {
  it.each([
    [
      "absent: added via the default gateway",
      [HUB, RELAY],
      [DEFAULT, HOME_LAN, TUN_HALF],
      [
        `ip route replace ${HUB} via 192.168.3.1 dev wan0 proto 77`,
        `ip route replace ${RELAY} via 192.168.3.1 dev wan0 proto 77`,
      ],
    ],
    ["present and right: nothing (converged)", [HUB, RELAY], [DEFAULT, HOME_LAN, TUN_HALF, ours(HUB), ours(RELAY)], []],
    [
      "wrong gateway (the home network changed): replaced",
      [HUB],
      [DEFAULT, HOME_LAN, ours(HUB, "192.168.9.1")],
      [`ip route replace ${HUB} via 192.168.3.1 dev wan0 proto 77`],
    ],
    [
      "wrong device: replaced",
      [HUB],
      [DEFAULT, ours(HUB, "192.168.3.1", "eth1")],
      [`ip route replace ${HUB} via 192.168.3.1 dev wan0 proto 77`],
    ],
    [
      "the lowest-metric default wins",
      [HUB],
      [
        { ...DEFAULT, gateway: "10.9.9.1", dev: "wwan0", metric: 600 },
        { ...DEFAULT, metric: 100 },
      ],
      [`ip route replace ${HUB} via 192.168.3.1 dev wan0 proto 77`],
    ],
    [
      "a PPP default (a device, no gateway): routes on the device",
      [HUB],
      [{ dst: "default", dev: "ppp0", metric: 0, protocol: "boot" }],
      [`ip route replace 203.0.113.10 dev ppp0 proto 77`],
    ],
    ["an endpoint on a connected network needs no route", ["192.168.3.50"], [DEFAULT, HOME_LAN], []],
    [
      "an endpoint gone from the inventory: its route removed",
      [HUB],
      [DEFAULT, ours(HUB), ours(RELAY)],
      [`ip route del ${RELAY} proto 77`],
    ],
    [
      "the client opted out: its routes removed",
      [],
      [DEFAULT, ours(HUB), ours(RELAY)],
      [`ip route del ${HUB} proto 77`, `ip route del ${RELAY} proto 77`],
    ],
    ["opted out and nothing of ours: nothing", [], [DEFAULT, HOME_LAN], []],
    ["opted out, no default route: nothing", [], [HOME_LAN], []],
  ] as [string, string[], MainRoute[], string[]][])("%s", (_what, endpoints, routes, want) => {
    expect(planUnderlayRoutes(endpoints, routes, "laptop").map((c) => c.render())).toEqual(want);
  });

  it("refuses to plan without a default route (Nebula's UDP would enter its own tun)", () => {
    expect(() => planUnderlayRoutes([HUB], [HOME_LAN, TUN_HALF], "laptop")).toThrow(UserError);
  });

  it("at boot: the same routes via whatever default route the host has then, nothing without one", () => {
    const script = underlayBootCommands([HUB, RELAY, HUB]).join("\n");
    expect(script.match(/ip route replace/g)).toHaveLength(2);
    expect(script).toContain(`ip route replace ${HUB} \${via:+via "$via"} dev "$dev" proto 77`);
    expect(script).toMatch(/if \[ -n "\$dev" \]; then/);
    expect(underlayBootCommands([])).toEqual([]);
  });

  it("parses ip -j output: no protocol field means boot, a number stays a number's text", () => {
    const json = JSON.stringify([
      { dst: "default", gateway: "192.168.3.1", dev: "wan0", flags: [] },
      { dst: "0.0.0.0/1", dev: "nebula1", scope: "link", flags: [] },
      { dst: "192.168.3.0/24", dev: "wan0", protocol: "kernel", scope: "link", prefsrc: "192.168.3.2", flags: [] },
      { dst: HUB, gateway: "192.168.3.1", dev: "wan0", protocol: 77, metric: 5, flags: [] },
    ]);
    expect(parseMainRoutes({ stdout: json, code: 0 })).toEqual([
      DEFAULT,
      TUN_HALF,
      HOME_LAN,
      { ...ours(HUB), metric: 5 },
    ]);
    expect(parseMainRoutes({ stdout: "", code: 0 })).toEqual([]);
    expect(() => parseMainRoutes({ stdout: "", code: 127 })).toThrow(/iproute2/);
  });
});

describe("routing's client part", () => {
  const plan = (yaml: string, name: string, routes: MainRoute[]) => {
    const [resource] = routingClientRole.tasks(ctx(yaml, name));
    // ip -j's JSON of these routes: what the probe prints (parseMainRoutes reads it back as the same routes).
    return planOne(resource, { [mainRoutesFact.key]: JSON.stringify(routes) })?.commands.map((c) => c.render()) ?? [];
  };
  it("routes the hub's Nebula port and the relay's forwarder for a client that opts in", () => {
    expect(plan(OPTED_IN, "laptop", [DEFAULT, HOME_LAN])).toEqual([
      `ip route replace ${HUB} via 192.168.3.1 dev wan0 proto 77`,
      `ip route replace ${RELAY} via 192.168.3.1 dev wan0 proto 77`,
    ]);
  });
  it("leaves a client that does not opt in alone (and gives it no boot service)", () => {
    expect(plan(OPTED_IN, "phone", [DEFAULT, HOME_LAN])).toEqual([]);
    // The host routes and the port rule, both planned to remove what an opted-out client no longer needs; no boot service.
    expect(routingClientRole.tasks(ctx(OPTED_IN, "phone"))).toHaveLength(2);
    expect(routingClientRole.tasks(ctx(OPTED_IN, "laptop")).map((r) => r.name)).toContain(
      "Enable meshisp-routing at boot",
    );
  });
  it("says what to do when an endpoint is a name", () => {
    const named = OPTED_IN.replace("nebula_public_address: 203.0.113.10", "nebula_public_address: hub.example.org");
    expect(() => routingClientRole.tasks(ctx(named, "laptop"))).toThrow(/hub\.example\.org is a name/);
  });
});

describe("Nebula's own UDP by its source port (peers the inventory cannot know: a hub behind CGNAT)", () => {
  const RULES: UnderlayRule[] = [
    { priority: 7700, ipproto: "udp", sport: 4242, table: "main", suppressPrefixlen: 1 },
    { priority: 7701, ipproto: "udp", sport: 4242, table: "77" },
  ];
  const TABLE = [{ dst: "default", gateway: "192.168.3.1", dev: "wan0" }];
  const ADD = [
    "ip rule add priority 7700 ipproto udp sport 4242 lookup main suppress_prefixlength 1",
    "ip rule add priority 7701 ipproto udp sport 4242 lookup 77",
  ];
  it.each([
    [
      "nothing yet: both rules and table 77's default via the home gateway",
      4242,
      [],
      [],
      [DEFAULT, HOME_LAN, TUN_HALF],
      [...ADD, "ip route replace default via 192.168.3.1 dev wan0 table 77 proto 77"],
    ],
    ["converged: nothing", 4242, RULES, TABLE, [DEFAULT, HOME_LAN, TUN_HALF], []],
    [
      "the home gateway changed: table 77 follows",
      4242,
      RULES,
      TABLE,
      [{ ...DEFAULT, gateway: "192.168.9.1" }],
      ["ip route replace default via 192.168.9.1 dev wan0 table 77 proto 77"],
    ],
    [
      "another port (nebula_node_port set): the rules replaced",
      4300,
      RULES,
      TABLE,
      [DEFAULT],
      [
        "ip rule del priority 7700",
        "ip rule del priority 7701",
        "ip rule add priority 7700 ipproto udp sport 4300 lookup main suppress_prefixlength 1",
        "ip rule add priority 7701 ipproto udp sport 4300 lookup 77",
      ],
    ],
    [
      "opted out: rules and table removed",
      null,
      RULES,
      TABLE,
      [DEFAULT],
      ["ip rule del priority 7700", "ip rule del priority 7701", "ip route flush table 77"],
    ],
    ["opted out, nothing of ours: nothing", null, [], [], [DEFAULT], []],
    ["no default route: the rules only (the host-route plan says what to do)", 4242, [], [], [HOME_LAN], ADD],
  ] as [string, number | null, UnderlayRule[], typeof TABLE, MainRoute[], string[]][])(
    "%s",
    (_what, port, rules, table, main, want) => {
      expect(planUnderlayRule(port, rules, table, main).map((c) => c.render())).toEqual(want);
    },
  );

  it("parses ip -j rule output: only our priorities", () => {
    const json = JSON.stringify([
      { priority: 0, src: "all", table: "local" },
      { priority: 7700, src: "all", ipproto: "udp", sport: 4242, table: "main", suppress_prefixlen: 1 },
      { priority: 7701, src: "all", ipproto: "udp", sport: 4242, table: "77" },
      { priority: 32766, src: "all", table: "main" },
    ]);
    expect(underlayRulesFact.parse({ stdout: json, code: 0 })).toEqual(RULES);
  });

  it("at boot: the rules anew, table 77 from the default route then", () => {
    const script = underlayRuleBootCommands(4242).join("\n");
    expect(script).toContain("ip rule del priority 7700 2>/dev/null");
    for (const line of ADD) expect(script).toContain(line);
    expect(script).toContain(`ip route replace default \${via:+via "$via"} dev "$dev" table 77 proto 77`);
  });

  it("a client that opts in listens on a fixed port (the rule's), others on nebula_node_port", () => {
    expect(nebulaSettings(ctx(OPTED_IN, "laptop")).config.listen_port).toBe(4242);
    expect(nebulaSettings(ctx(OPTED_IN, "phone")).config.listen_port).toBe(0);
    expect(
      nebulaSettings(ctx(inventoryYaml(", vars: { client_internet_via_mesh: true, nebula_node_port: 4300 }"), "laptop"))
        .config.listen_port,
    ).toBe(4300);
  });
});
