// Routing role, table-driven: `ip -j` / tc / nft output in, commands out (nothing on a converged host); the health
// checker's multipath route from donated bandwidth (the real script, run with --route).
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderTemplate } from "../../lib/template.ts";
import { parseAddresses, parseLinks, parseRoutes, parseRules } from "../../roles/routing/ip-facts.ts";
import { planTunnel, staleHubTunnels, tunnelPair, uplinkNumber } from "../../roles/routing/tunnel.ts";
import { planRoutes, planRules } from "../../roles/routing/policy.ts";
import { htbFor, lanHtb, parseHtb, planHtb } from "../../roles/routing/qos.ts";
import { tunnel } from "../../roles/routing/resources.ts";
import { nftTable } from "../../lib/resources/nft-table.ts";
import { routingDefaults } from "../../roles/routing/defaults.ts";
import { bootCommands } from "../../roles/routing/boot.ts";
import { commandsOf } from "../helpers/plan.ts";

const out = (stdout: string, code = 0) => ({ stdout, code });
const vx = (name: string, id: number, local: string, remote: string, extra: Record<string, unknown> = {}) => ({
  ifindex: 11,
  ifname: name,
  flags: ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
  mtu: 1250,
  operstate: "UNKNOWN",
  link_type: "ether",
  linkinfo: { info_kind: "vxlan", info_data: { id, remote, local, port: 4789, learning: true, ttl: 0 } },
  ...extra,
});
const LINKS = JSON.stringify([
  { ifindex: 1, ifname: "lo", flags: ["LOOPBACK", "UP", "LOWER_UP"], mtu: 65536, link_type: "loopback" },
  {
    ifindex: 5,
    ifname: "nebula1",
    flags: ["POINTOPOINT", "MULTICAST", "NOARP", "UP", "LOWER_UP"],
    mtu: 1300,
    linkinfo: { info_kind: "tun" },
  },
  vx("mu65", 1089, "10.0.4.1", "10.0.4.65"),
]);
const ADDRS = JSON.stringify([
  { ifindex: 5, ifname: "nebula1", addr_info: [{ family: "inet", local: "10.0.4.1", prefixlen: 16 }] },
  { ifindex: 11, ifname: "mu65", addr_info: [{ family: "inet", local: "10.0.253.130", prefixlen: 31 }] },
]);
const HUB_65 = tunnelPair("10.0.4.1", "10.0.4.65", routingDefaults).hub;

describe("parsers of ip -j output", () => {
  it("links: kind, mtu, up, VXLAN identity", () => {
    const links = parseLinks(out(LINKS));
    expect(links.get("mu65")).toEqual({
      name: "mu65",
      kind: "vxlan",
      mtu: 1250,
      up: true,
      vxlan: { id: 1089, local: "10.0.4.1", remote: "10.0.4.65", port: 4789 },
    });
    expect(links.get("nebula1")).toMatchObject({ kind: "tun", up: true });
    expect(links.get("lo")?.kind).toBeNull();
    expect(parseLinks(out("")).size).toBe(0);
    expect(() => parseLinks(out("", 255))).toThrow(/iproute2/);
  });
  it("addresses, rules (with suppress_prefixlength) and routes of every table", () => {
    expect(parseAddresses(out(ADDRS)).get("mu65")).toEqual(["10.0.253.130/31"]);
    const rules = parseRules(
      out(
        '[{"priority":0,"src":"all","table":"local"},{"priority":1000,"src":"10.0.253.130","table":"265"},{"priority":1010,"src":"10.42.0.0","srclen":24,"table":"main","suppress_prefixlen":0}]',
      ),
    );
    expect(rules).toEqual([
      { priority: 0, from: "all", table: "local" },
      { priority: 1000, from: "10.0.253.130/32", table: "265" },
      { priority: 1010, from: "10.42.0.0/24", table: "main", suppressDefault: true },
    ]);
    const routes = parseRoutes(
      out(
        '[{"dst":"default","gateway":"203.0.113.1","dev":"wan0","flags":[]},{"type":"unicast","dst":"default","table":"100","flags":[],"nexthops":[{"gateway":"10.0.253.131","dev":"mu65","weight":100,"flags":[]}]},{"dst":"default","gateway":"10.0.253.131","dev":"mu65","table":"265","flags":[]}]',
      ),
    );
    expect(routes).toEqual([
      { table: "main", dst: "default", gateway: "203.0.113.1", dev: "wan0" },
      { table: "100", dst: "default" },
      { table: "265", dst: "default", gateway: "10.0.253.131", dev: "mu65" },
    ]);
  });
});

describe("tunnel numbers", () => {
  it("uplink 10.0.4.n: VNI from the low 16 bits, /31 pair <prefix>.2n / .2n+1, mu<n> on the hub", () => {
    expect(uplinkNumber("10.0.4.65")).toEqual({ n: 65, vni: 1089 });
    const { hub, uplink } = tunnelPair("10.0.4.1", "10.0.4.126", routingDefaults);
    expect(hub).toEqual({
      dev: "mu126",
      vni: 1150,
      local: "10.0.4.1",
      remote: "10.0.4.126",
      port: 4789,
      mtu: 1250,
      address: "10.0.253.252/31",
      peer: "10.0.253.253",
    });
    expect(uplink).toMatchObject({
      dev: "mu-hub",
      local: "10.0.4.126",
      remote: "10.0.4.1",
      address: "10.0.253.253/31",
      peer: "10.0.253.252",
    });
    expect(() => uplinkNumber("10.0.4.200")).toThrow(/127/);
    expect(() => uplinkNumber("uplink")).toThrow(/not an IPv4/);
  });
});

describe("tunnel plans", () => {
  const links = (list: unknown[]) => parseLinks(out(JSON.stringify(list)));
  const addrs = (list: string[]) => new Map([["mu65", list]]);
  const cases: {
    name: string;
    links: ReturnType<typeof links>;
    addrs: Map<string, string[]>;
    expect: string[] | null;
  }[] = [
    {
      name: "converged: nothing to do",
      links: parseLinks(out(LINKS)),
      addrs: parseAddresses(out(ADDRS)),
      expect: null,
    },
    {
      name: "absent: created, mtu, address, up",
      links: links([]),
      addrs: new Map(),
      expect: [
        "ip link add mu65 type vxlan id 1089 local 10.0.4.1 remote 10.0.4.65 dstport 4789",
        "ip link set mu65 mtu 1250",
        "ip addr add 10.0.253.130/31 dev mu65",
        "ip link set mu65 up",
      ],
    },
    {
      name: "other remote (uplink re-addressed): deleted and re-created",
      links: links([vx("mu65", 1089, "10.0.4.1", "10.0.4.99")]),
      addrs: addrs(["10.0.253.130/31"]),
      expect: [
        "ip link del mu65",
        "ip link add mu65 type vxlan id 1089 local 10.0.4.1 remote 10.0.4.65 dstport 4789",
        "ip link set mu65 mtu 1250",
        "ip addr add 10.0.253.130/31 dev mu65",
        "ip link set mu65 up",
      ],
    },
    {
      name: "a non-VXLAN link of that name: replaced",
      links: links([{ ifname: "mu65", mtu: 1500, flags: ["UP"], linkinfo: { info_kind: "veth" } }]),
      addrs: addrs([]),
      expect: [
        "ip link del mu65",
        "ip link add mu65 type vxlan id 1089 local 10.0.4.1 remote 10.0.4.65 dstport 4789",
        "ip link set mu65 mtu 1250",
        "ip addr add 10.0.253.130/31 dev mu65",
        "ip link set mu65 up",
      ],
    },
    {
      name: "changed mtu, a stray address, down: each fixed in place",
      links: links([vx("mu65", 1089, "10.0.4.1", "10.0.4.65", { mtu: 1450, flags: ["BROADCAST"] })]),
      addrs: addrs(["10.9.9.9/24"]),
      expect: [
        "ip link set mu65 mtu 1250",
        "ip addr del 10.9.9.9/24 dev mu65",
        "ip addr add 10.0.253.130/31 dev mu65",
        "ip link set mu65 up",
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planTunnel(HUB_65, c.links, c.addrs);
      expect(plan?.commands.map((x) => x.display()) ?? null).toEqual(c.expect);
    });
  }
  it("stale hub tunnels are the mu<n> VXLAN links not wanted", () => {
    const l = links([
      vx("mu65", 1089, "a", "b"),
      vx("mu66", 1090, "a", "b"),
      vx("mu-hub", 1, "a", "b"),
      { ifname: "mu67", mtu: 1, linkinfo: { info_kind: "veth" } },
    ]);
    expect(staleHubTunnels(["mu65"], l)).toEqual(["mu66"]);
  });
});

/** Plans a resource from raw probe outputs keyed by fact key (the runner's plan: declared facts only). */
const plan = commandsOf;

describe("tunnel resource with its routes", () => {
  const probe = (routes: unknown[], links = LINKS) => ({
    "ip:links": links,
    "ip:addresses": ADDRS,
    "ip:routes": JSON.stringify(routes),
  });
  const res = tunnel({
    ...HUB_65,
    name: "Tunnel to uplink-1",
    routes: [{ table: "265", dst: "default", gateway: "10.0.253.131", dev: "mu65" }],
  });
  it("converged: nothing", () =>
    expect(plan(res, probe([{ dst: "default", gateway: "10.0.253.131", dev: "mu65", table: "265" }]))).toBeNull());
  it("route missing: replaced", () =>
    expect(plan(res, probe([]))).toEqual(["ip route replace default via 10.0.253.131 dev mu65 table 265"]));
  it("tunnel re-created: its routes are set again even if they were there (deleting a link deletes its routes)", () => {
    const moved = JSON.stringify([vx("mu65", 1089, "10.0.4.1", "10.0.4.99")]);
    const cmds = plan(res, probe([{ dst: "default", gateway: "10.0.253.131", dev: "mu65", table: "265" }], moved))!;
    expect(cmds[0]).toBe("ip link del mu65");
    expect(cmds.at(-1)).toBe("ip route replace default via 10.0.253.131 dev mu65 table 265");
  });
});

describe("policy rules and routes", () => {
  const wanted = [
    { priority: 1000, from: "10.0.253.130/32", table: "265" },
    { priority: 1010, from: "10.42.0.0/24", table: "main", suppressDefault: true },
    { priority: 1011, from: "10.42.0.0/24", table: "100" },
  ];
  const have = parseRules(
    out(
      '[{"priority":0,"src":"all","table":"local"},{"priority":1000,"src":"10.0.253.130","table":"265"},{"priority":1010,"src":"10.42.0.0","srclen":24,"table":"main","suppress_prefixlen":0},{"priority":1011,"src":"10.42.0.0","srclen":24,"table":"100"},{"priority":32766,"src":"all","table":"main"}]',
    ),
  );
  const cases = [
    { name: "converged: nothing", have, expect: [] },
    {
      name: "none yet: all added",
      have: have.filter((r) => r.priority < 1000 || r.priority > 1020),
      expect: [
        "ip rule add priority 1000 from 10.0.253.130/32 table 265",
        "ip rule add priority 1010 from 10.42.0.0/24 table main suppress_prefixlength 0",
        "ip rule add priority 1011 from 10.42.0.0/24 table 100",
      ],
    },
    {
      name: "an uplink that left: its probe rule removed; rules outside the owned range left alone",
      have: [
        ...have,
        { priority: 1000, from: "10.0.253.132/32", table: "266" },
        { priority: 500, from: "10.9.0.0/16", table: "7" },
      ],
      expect: ["ip rule del priority 1000 from 10.0.253.132/32 table 266"],
    },
  ];
  for (const c of cases)
    it(c.name, () => expect(planRules(wanted, c.have, [1000, 1020]).map((x) => x.display())).toEqual(c.expect));
  it("routes: replaced only when different", () => {
    const want = [{ table: "main", dst: "10.42.0.0/24", gateway: "10.0.253.130", dev: "mu-hub" }];
    expect(planRoutes(want, [{ table: "main", dst: "10.42.0.0/24", gateway: "10.0.253.130", dev: "mu-hub" }])).toEqual(
      [],
    );
    expect(
      planRoutes(want, [{ table: "main", dst: "10.42.0.0/24", gateway: "192.168.1.1", dev: "wan0" }]).map((x) =>
        x.display(),
      ),
    ).toEqual(["ip route replace 10.42.0.0/24 via 10.0.253.130 dev mu-hub table main"]);
  });
});

describe("QoS: HTB tree from tc's output", () => {
  const TC = `qdisc htb 1: root refcnt 2 r2q 10 default 0x30 direct_packets_stat 0 direct_qlen 1000
qdisc pfifo 10: parent 1:10 limit 32p
qdisc pfifo 20: parent 1:20 limit 32p
qdisc pfifo 30: parent 1:30 limit 64p
qdisc pfifo 40: parent 1:40 limit 64p
---
class htb 1:1 root rate 7600Kbit ceil 7600Kbit burst 1599b cburst 1599b
class htb 1:10 parent 1:1 leaf 10: prio 0 rate 1520Kbit ceil 7600Kbit burst 1599b cburst 1599b
class htb 1:20 parent 1:1 leaf 20: prio 1 rate 2280Kbit ceil 7600Kbit burst 1599b cburst 1599b
class htb 1:30 parent 1:1 leaf 30: prio 2 rate 3040Kbit ceil 7600Kbit burst 1599b cburst 1599b
class htb 1:40 parent 1:1 leaf 40: prio 3 rate 760Kbit ceil 7600Kbit burst 1599b cburst 1599b`;
  const want = htbFor("lan0", 7600);
  it("rates parse to kbit/s", () => {
    const state = parseHtb(
      out(TC.replace("rate 2280Kbit ceil 7600Kbit", "rate 2Mbit ceil 1Gbit").replace("rate 3040Kbit", "rate 500bit")),
    )!;
    expect(state.classes.get("1:20")).toEqual({ rate: 2000, ceil: 1e6, prio: 1 });
    expect(state.classes.get("1:30")).toEqual({ rate: 0.5, ceil: 7600, prio: 2 });
    expect(state.classes.get("1:40")).toEqual({ rate: 760, ceil: 7600, prio: 3 });
  });
  it("converged: nothing", () => expect(planHtb(want, parseHtb(out(TC)))).toEqual([]));
  it("no qdisc yet (or the device is new): the whole tree", () => {
    const cmds = planHtb(want, parseHtb(out("qdisc noqueue 0: root refcnt 2\n---\n"))).map((c) => c.display());
    expect(cmds[0]).toBe("tc qdisc replace dev lan0 root handle 1: htb default 30");
    expect(cmds).toContain("tc class replace dev lan0 parent 1:1 classid 1:20 htb rate 2280kbit ceil 7600kbit prio 1");
    expect(cmds).toContain("tc qdisc replace dev lan0 parent 1:40 handle 40: pfifo limit 64");
    expect(cmds).toHaveLength(10);
    expect(planHtb(want, parseHtb(out("", 1)))).toHaveLength(10);
  });
  it("the LAN is found by the route to its subnet; no such route is an error that says what to set", () => {
    const lan = lanHtb("10.42.0.0/24", 7600);
    const noFq = { "tc:qdisc-support": "fq_codel no\ncake no\n" };
    expect(plan(lan, { ...noFq, "htb-lan:10.42.0.0/24": `dev lan0\n${TC}` })).toBeNull();
    expect(plan(lan, { ...noFq, "htb-lan:10.42.0.0/24": "dev eth1\nqdisc noqueue 0: root refcnt 2\n---\n" })?.[0]).toBe(
      "tc qdisc replace dev eth1 root handle 1: htb default 30",
    );
    expect(() => plan(lan, { ...noFq, "htb-lan:10.42.0.0/24": ["dev \n", 1] })).toThrow(
      /no interface has a route to the hub's LAN 10\.42\.0\.0\/24/,
    );
  });
  it("fq_codel leaves where the kernel has it: a pfifo leaf is removed first (replace keeps the kind), then nothing", () => {
    const lan = lanHtb("10.42.0.0/24", 7600);
    const fq = { "tc:qdisc-support": "fq_codel yes\ncake no\n" };
    const cmds = plan(lan, { ...fq, "htb-lan:10.42.0.0/24": `dev lan0\n${TC}` })!;
    expect(cmds).toHaveLength(8);
    expect(cmds.slice(0, 2)).toEqual([
      "tc qdisc del dev lan0 parent 1:10",
      "tc qdisc replace dev lan0 parent 1:10 handle 10: fq_codel",
    ]);
    const converged = TC.replace(
      /qdisc pfifo (\d+): parent (\S+) limit \d+p/g,
      "qdisc fq_codel $1: parent $2 limit 10240p flows 1024 quantum 1514 target 5ms interval 100ms",
    );
    expect(plan(lan, { ...fq, "htb-lan:10.42.0.0/24": `dev lan0\n${converged}` })).toBeNull();
  });
  it("link rate changed: the classes follow, leaves stay", () => {
    const cmds = planHtb(htbFor("lan0", 9500), parseHtb(out(TC))).map((c) => c.display());
    expect(cmds).toHaveLength(5);
    expect(cmds.every((c) => c.startsWith("tc class replace"))).toBe(true);
  });
});

describe("own nftables table", () => {
  const t = nftTable({
    family: "ip",
    name: "meshisp",
    body: "\tchain forward {\n\t\ttype filter hook forward priority mangle; policy accept;\n\t}",
  });
  const key = "nft-comment:ip:meshisp";
  it("absent: loaded in one transaction", () =>
    expect(plan(t, { [key]: ["", 1] })?.[0]).toMatch(
      /^printf '%s' 'table ip meshisp\n\s*delete table ip meshisp\n\s*table ip meshisp \{\n\s*comment "meshisp sha256:[0-9a-f]{16}"/,
    ));
  it("same hash in the live table: nothing", () => {
    const hash = /comment "([^"]+)"/.exec(plan(t, { [key]: ["", 1] })![0])![1];
    expect(plan(t, { [key]: `table ip meshisp {\n\tcomment "${hash}"\n\tchain forward {\n\t}\n}\n` })).toBeNull();
  });
  it("edited by hand (other comment) or an older version: replaced", () =>
    expect(plan(t, { [key]: 'table ip meshisp {\n\tcomment "meshisp sha256:0000"\n}\n' })).toHaveLength(1));
});

describe("the health checker's route (meshisp-failover --route, the real script)", () => {
  const dir = mkdtempSync(join(tmpdir(), "meshisp-failover-"));
  writeFileSync(join(dir, "meshisp-failover"), renderTemplate("routing/failover.sh.hbs", {}));
  const routeFor = (uplinks: string, live: string, backup: [string, string] = ["wan0", "203.0.113.1"]) => {
    writeFileSync(join(dir, "uplinks.conf"), `# name mesh_ip up_mbit down_mbit\n${uplinks}`);
    writeFileSync(
      join(dir, "routing.conf"),
      `TABLE=100\nTRANSFER_PREFIX=10.0.253\nBACKUP_DEV=${backup[0]}\nBACKUP_GW=${backup[1]}\n`,
    );
    return execFileSync("sh", [join(dir, "meshisp-failover"), "--route", live, dir], { encoding: "utf8" }).trim();
  };
  const three = "uplink-1 10.0.4.65 20 100\nuplink-2 10.0.4.66 5 50\nuplink-3 10.0.4.67 2 25\n";
  const cases: { name: string; uplinks: string; live: string; backup?: [string, string]; expect: string }[] = [
    {
      name: "all live: weights are the download donations",
      uplinks: three,
      live: "uplink-1 uplink-2 uplink-3",
      expect:
        "default nexthop via 10.0.253.131 dev mu65 weight 100 nexthop via 10.0.253.133 dev mu66 weight 50 nexthop via 10.0.253.135 dev mu67 weight 25",
    },
    {
      name: "one down: the others keep their weights",
      uplinks: three,
      live: "uplink-1 uplink-3",
      expect: "default nexthop via 10.0.253.131 dev mu65 weight 100 nexthop via 10.0.253.135 dev mu67 weight 25",
    },
    { name: "all down: the backup", uplinks: three, live: "", expect: "default via 203.0.113.1 dev wan0" },
    {
      name: "all down, no backup: unreachable (never leaks out of the hub's own WAN)",
      uplinks: three,
      live: "",
      backup: ["", ""],
      expect: "unreachable default",
    },
    {
      name: "no uplinks yet (first deploy): the backup",
      uplinks: "",
      live: "",
      expect: "default via 203.0.113.1 dev wan0",
    },
    {
      name: "no download figure: upload, else 1",
      uplinks: "a 10.0.4.65 8 0\nb 10.0.4.66 0 0\n",
      live: "a b",
      expect: "default nexthop via 10.0.253.131 dev mu65 weight 8 nexthop via 10.0.253.133 dev mu66 weight 1",
    },
    {
      name: "donations over 256: scaled together into the kernel's 1..256",
      uplinks: "a 10.0.4.65 100 1000\nb 10.0.4.66 50 100\nc 10.0.4.67 1 1\n",
      live: "a b c",
      expect:
        "default nexthop via 10.0.253.131 dev mu65 weight 256 nexthop via 10.0.253.133 dev mu66 weight 25 nexthop via 10.0.253.135 dev mu67 weight 1",
    },
  ];
  for (const c of cases) it(c.name, () => expect(routeFor(c.uplinks, c.live, c.backup)).toBe(c.expect));
});

describe("boot script: the role's plan for an empty host", () => {
  it("creates the tunnel with its routes, loads the table, sets the LAN's QoS by looking its device up", () => {
    const lines = bootCommands([
      tunnel({
        ...HUB_65,
        name: "Tunnel to uplink-1",
        routes: [{ table: "265", dst: "default", gateway: "10.0.253.131", dev: "mu65" }],
      }),
      nftTable({ family: "ip", name: "meshisp", body: "" }),
      lanHtb("10.42.0.0/24", 7600),
    ]);
    const text = lines.join("\n");
    expect(lines).toContain("ip link add mu65 type vxlan id 1089 local 10.0.4.1 remote 10.0.4.65 dstport 4789");
    expect(lines).toContain("ip route replace default via 10.0.253.131 dev mu65 table 265");
    expect(text).toMatch(/\| nft -f -/);
    expect(lines).toContain('tc qdisc replace dev "$dev" root handle 1: htb default 30');
    // The leaf the runner would pick: fq_codel, or the pfifo where the kernel has none.
    expect(lines).toContain(
      'tc qdisc replace dev "$dev" parent 1:30 handle 30: fq_codel 2>/dev/null || tc qdisc replace dev "$dev" parent 1:30 handle 30: pfifo limit 64',
    );
    expect(text.indexOf("dev=$(ip -o -4 route show exact 10.42.0.0/24")).toBeLessThan(text.indexOf("tc qdisc replace"));
  });
});
