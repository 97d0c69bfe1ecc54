// Shaping plans, table-driven: real `tc` output captured from this kernel in, commands out (none when the host already is as asked).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseRate, parseTcDevice, qdiscSupportFact } from "../../lib/facts/tc.ts";
import type { Host, Inventory } from "../../lib/inventory/types.ts";
import { mergeVars } from "../../lib/inventory/vars.ts";
import type { HostContext } from "../../lib/play.ts";
import { UserError } from "../../lib/errors.ts";
import { shapingRole } from "../../roles/shaping/index.ts";
import { uplinkShaping } from "../../roles/shaping/caps.ts";
import { renderShapingScript } from "../../roles/shaping/script.ts";
import { identified, planAll } from "../helpers/plan.ts";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "fixtures/tc", name), "utf8");
// Captured with the fact's own probe (tc 6.1, this lab kernel): tunx is a tun device like nebula1, ifbx an IFB.
const TC = {
  absent: fixture("absent.txt"),
  tunFresh: fixture("tun-fresh.txt"),
  tunShaped: fixture("tun-shaped.txt"),
  tunShapedText: fixture("tun-shaped-text.txt"),
  tunForeign: fixture("tun-foreign-redirect.txt"),
  ifbShaped: fixture("ifb-shaped.txt"),
  ifb2500k: fixture("ifb-2500kbit.txt"),
  // An IFB someone created and left down, nothing on it.
  ifbBare: "exists\n0x1082\n@qdisc\n[]\n@class\n@filter\n[]\n",
};
const SUPPORT = {
  none: fixture("support-none.txt"),
  fqCodel: "fq_codel yes\ncake no\n",
  cakeOnly: "fq_codel no\ncake yes\n",
  both: "fq_codel yes\ncake yes\n",
  unprobed: "unprobed\n",
};

function context(vars: Record<string, unknown>, os: "openwrt" | "debian" = "openwrt"): HostContext {
  const host = {
    name: "uplink-2",
    address: "198.18.1.3",
    port: 22,
    user: "root",
    os,
    group: "uplinks",
    meshIp: "10.0.4.66",
    vars: {},
    source: "hosts.yml:30",
  } as Host;
  const merged = mergeVars(
    shapingRole.defaults,
    { bandwidth: { up_mbit: 5, down_mbit: 20 }, shaping_mesh_device: "tunx", shaping_ifb_device: "ifbx" },
    vars,
  );
  return {
    host,
    os,
    facts: identified(os, host.name),
    vars: merged,
    inventory: {} as Inventory,
  };
}

/** The tc part of the role (IFB, both caps, the ingress redirect) planned against the given probe outputs. */
function planTc(vars: Record<string, unknown>, probes: { tun: string; ifb: string; support: string }): string[] {
  const outputs: Record<string, string> = {
    "tc:tunx": probes.tun,
    "tc:ifbx": probes.ifb,
    [qdiscSupportFact.key]: probes.support,
  };
  const tc = shapingRole.tasks(context(vars)).filter((r) => /^(Create IFB|Cap |Redirect )/.test(r.name));
  return planAll(tc, outputs).changes.flatMap((c) => c.plan.commands.map((x) => x.display()));
}

const FRESH_TUN = [
  /^\{ i=0; while \[ ! -e \/sys\/class\/net\/tunx \].*-lt 30 \]/,
  /^tc qdisc replace dev tunx root handle 1: htb default 10$/,
  /^tc class replace dev tunx parent 1: classid 1:10 htb rate 20000000bit ceil 20000000bit$/,
];

describe("shaping plans", () => {
  const cases: {
    name: string;
    vars?: Record<string, unknown>;
    tun: string;
    ifb: string;
    support: string;
    expect: RegExp[];
  }[] = [
    {
      name: "fresh host, no fq_codel or cake (this lab's kernel): pfifo sized to 50 ms at each cap",
      tun: TC.absent,
      ifb: TC.absent,
      support: SUPPORT.none,
      expect: [
        /^ip link add name ifbx type ifb$/,
        /^ip link set dev ifbx up$/,
        ...FRESH_TUN,
        /^tc qdisc replace dev tunx parent 1:10 handle 10: pfifo limit 97$/,
        /^\{ i=0; while \[ ! -e \/sys\/class\/net\/ifbx \]/,
        /^tc qdisc replace dev ifbx root handle 1: htb default 10$/,
        /^tc class replace dev ifbx parent 1: classid 1:10 htb rate 5000000bit ceil 5000000bit$/,
        /^tc qdisc replace dev ifbx parent 1:10 handle 10: pfifo limit 25$/,
        /^\{ i=0; while \[ ! -e \/sys\/class\/net\/tunx \]/,
        /^tc qdisc replace dev tunx handle ffff: ingress$/,
        /^tc filter replace dev tunx parent ffff: protocol all prio 1 handle 800::800 u32 match u32 0 0 action mirred egress redirect dev ifbx$/,
      ],
    },
    {
      name: "fresh host with fq_codel (real OpenWrt): fq_codel leaves",
      tun: TC.tunFresh,
      ifb: TC.ifbBare,
      support: SUPPORT.both,
      expect: [
        /^ip link set dev ifbx up$/,
        /^tc qdisc replace dev tunx root handle 1: htb default 10$/,
        /^tc class replace dev tunx .* rate 20000000bit ceil 20000000bit$/,
        /^tc qdisc replace dev tunx parent 1:10 handle 10: fq_codel$/,
        /^tc qdisc replace dev ifbx root handle 1: htb default 10$/,
        /^tc class replace dev ifbx .* rate 5000000bit ceil 5000000bit$/,
        /^tc qdisc replace dev ifbx parent 1:10 handle 10: fq_codel$/,
        /^tc qdisc replace dev tunx handle ffff: ingress$/,
        /^tc filter replace dev tunx parent ffff: .* redirect dev ifbx$/,
      ],
    },
    {
      name: "cake only, preferred order kept",
      tun: TC.tunFresh,
      ifb: TC.ifbBare,
      support: SUPPORT.cakeOnly,
      expect: [
        /^ip link set dev ifbx up$/,
        /root handle 1: htb/,
        /tunx .* rate 20000000bit/,
        /^tc qdisc replace dev tunx parent 1:10 handle 10: cake besteffort$/,
        /ifbx root handle 1: htb/,
        /ifbx .* rate 5000000bit/,
        /^tc qdisc replace dev ifbx parent 1:10 handle 10: cake besteffort$/,
        /ingress$/,
        /redirect dev ifbx$/,
      ],
    },
    {
      name: "cake preferred by the inventory",
      vars: { shaping_leaf_qdiscs: ["cake", "fq_codel"] },
      tun: TC.tunFresh,
      ifb: TC.ifbBare,
      support: SUPPORT.both,
      expect: [
        /^ip link set dev ifbx up$/,
        /htb default 10$/,
        /rate 20000000bit/,
        /tunx parent 1:10 handle 10: cake besteffort$/,
        /htb default 10$/,
        /rate 5000000bit/,
        /ifbx parent 1:10 handle 10: cake besteffort$/,
        /ingress$/,
        /redirect dev ifbx$/,
      ],
    },
    {
      name: "already shaped (tc JSON): nothing",
      tun: TC.tunShaped,
      ifb: TC.ifbShaped,
      support: SUPPORT.none,
      expect: [],
    },
    {
      name: "already shaped (a tc that prints text): nothing",
      tun: TC.tunShapedText,
      ifb: TC.ifbShaped,
      support: SUPPORT.none,
      expect: [],
    },
    {
      name: "loopback busy, qdiscs not probed: the fifo, never a guess",
      tun: TC.tunShaped,
      ifb: TC.ifbShaped,
      support: SUPPORT.unprobed,
      expect: [],
    },
    {
      name: "upload cap changed 2.5 -> 5 Mbit: only that class",
      tun: TC.tunShaped,
      ifb: TC.ifb2500k,
      support: SUPPORT.none,
      expect: [/^tc class replace dev ifbx parent 1: classid 1:10 htb rate 5000000bit ceil 5000000bit$/],
    },
    {
      name: "download cap changed 20 -> 50 Mbit: that class and its fifo's length",
      vars: { bandwidth: { down_mbit: 50 } },
      tun: TC.tunShaped,
      ifb: TC.ifbShaped,
      support: SUPPORT.none,
      expect: [
        /^tc class replace dev tunx parent 1: classid 1:10 htb rate 50000000bit ceil 50000000bit$/,
        /^tc qdisc replace dev tunx parent 1:10 handle 10: pfifo limit 241$/,
      ],
    },
    {
      name: "shaped with a fifo, fq_codel now available: only the leaves",
      tun: TC.tunShaped,
      ifb: TC.ifbShaped,
      support: SUPPORT.fqCodel,
      // The kernel refuses to replace a leaf by one of another kind: the fifo is deleted first.
      expect: [
        /^tc qdisc del dev tunx parent 1:10$/,
        /^tc qdisc replace dev tunx parent 1:10 handle 10: fq_codel$/,
        /^tc qdisc del dev ifbx parent 1:10$/,
        /^tc qdisc replace dev ifbx parent 1:10 handle 10: fq_codel$/,
      ],
    },
    {
      name: "an HTB root with another default class: deleted (HTB cannot be changed in place) and built again",
      tun: TC.tunShaped.replace('"default":"0x10"', '"default":"0x20"'),
      ifb: TC.ifbShaped,
      support: SUPPORT.none,
      expect: [
        /^tc qdisc del dev tunx root$/,
        /^tc qdisc replace dev tunx root handle 1: htb default 10$/,
        /^tc class replace dev tunx .* rate 20000000bit/,
        /^tc qdisc replace dev tunx parent 1:10 handle 10: pfifo limit 97$/,
      ],
    },
    {
      name: "a foreign redirect on the ingress hook: cleared, ours put in",
      tun: TC.tunForeign,
      ifb: TC.ifbShaped,
      support: SUPPORT.none,
      expect: [
        /^tc filter del dev tunx parent ffff:$/,
        /^tc filter replace dev tunx parent ffff: .* redirect dev ifbx$/,
      ],
    },
    {
      name: "Nebula restarted (a new tun with no qdiscs), IFB still shaped: the tun only",
      tun: TC.tunFresh,
      ifb: TC.ifbShaped,
      support: SUPPORT.none,
      expect: [
        /tunx root handle 1: htb/,
        /tunx .* rate 20000000bit/,
        /tunx parent 1:10 handle 10: pfifo limit 97$/,
        /^tc qdisc replace dev tunx handle ffff: ingress$/,
        /redirect dev ifbx$/,
      ],
    },
  ];

  it.each(cases)("$name", ({ vars, tun, ifb, support, expect: wanted }) => {
    const commands = planTc(vars ?? {}, { tun, ifb, support });
    expect(commands.length, commands.join("\n")).toBe(wanted.length);
    commands.forEach((c, i) => expect(c).toMatch(wanted[i]));
  });

  it("refuses an uplink without a donated bandwidth, saying where to set it", () => {
    expect(() => shapingRole.tasks(context({ bandwidth: { up_mbit: 0 } }))).toThrow(UserError);
    expect(() => shapingRole.tasks(context({ bandwidth: { up_mbit: 0 } }))).toThrow(
      /uplink-2 \(hosts.yml:30\): bandwidth.up_mbit is 0/,
    );
  });

  it("the watcher runs under procd-style init scripts and under systemd", () => {
    const initd = shapingRole.tasks(context({})).map((r) => r.name);
    expect(initd).toContain("Write /etc/init.d/meshisp-shaping");
    const ctx = context({}, "debian");
    const systemd = shapingRole.tasks({ ...ctx, facts: { ...ctx.facts, init: "systemd" } }).map((r) => r.name);
    expect(systemd).toContain("Write /etc/systemd/system/meshisp-shaping.service");
    expect(systemd).toContain("Run service meshisp-shaping at boot");
  });

  it.each([
    { os: "openwrt", vars: {}, want: "Install tc-full, kmod-sched-core, kmod-ifb, iperf3" },
    { os: "debian", vars: {}, want: "Install iproute2, iperf3" },
    { os: "openwrt", vars: { shaping_iperf3: false }, want: "Install tc-full, kmod-sched-core, kmod-ifb" },
    { os: "debian", vars: { shaping_iperf3: false }, want: "Install iproute2" },
  ] as const)("the package names are per OS ($os, $vars)", ({ os, vars, want }) => {
    expect(shapingRole.tasks(context(vars, os))[0].name).toBe(want);
  });
});

describe("the tc parser, on real tc output", () => {
  it.each([
    ["JSON", TC.tunShaped],
    ["text", TC.tunShapedText],
  ])("reads a shaped tun device (%s)", (_kind, text) => {
    const state = parseTcDevice(text);
    expect(state).toMatchObject({ exists: true, up: true, ingressRedirects: ["ifbx"], otherIngressFilters: 0 });
    expect(state.qdiscs).toEqual([
      { kind: "htb", handle: "1:", parent: "root", defaultClass: "10", limit: undefined },
      { kind: "pfifo", handle: "10:", parent: "1:10", defaultClass: undefined, limit: 97 },
      { kind: "ingress", handle: "ffff:", parent: "ffff:fff1", defaultClass: undefined, limit: undefined },
    ]);
    expect(state.classes).toEqual([
      { kind: "htb", classid: "1:10", parent: "root", rateBit: 20e6, ceilBit: 20e6, prio: 0 },
    ]);
  });

  it("reads a fresh tun, a missing device and a changed rate", () => {
    expect(parseTcDevice(TC.tunFresh)).toMatchObject({
      exists: true,
      qdiscs: [{ kind: "pfifo_fast", parent: "root" }],
      classes: [],
      ingressRedirects: [],
    });
    expect(parseTcDevice(TC.absent).exists).toBe(false);
    expect(parseTcDevice(TC.ifb2500k).classes[0].rateBit).toBe(2.5e6);
    expect(parseTcDevice(TC.tunForeign).ingressRedirects).toEqual(["ifby"]);
  });

  it.each([
    ["5Mbit", 5e6],
    ["2500Kbit", 2.5e6],
    ["1Gbit", 1e9],
    ["800bit", 800],
    ["1Mbps", 8e6],
  ])("rate %s = %d bit/s", (text, bits) => expect(parseRate(text)).toBe(bits));

  it("reads the qdisc probe", () => {
    expect([...qdiscSupportFact.parse({ stdout: SUPPORT.none, code: 0 })]).toEqual([]);
    expect([...qdiscSupportFact.parse({ stdout: SUPPORT.both, code: 0 })]).toEqual(["fq_codel", "cake"]);
    expect([...qdiscSupportFact.parse({ stdout: SUPPORT.unprobed, code: 0 })]).toEqual([]);
  });
});

describe("the watcher's script", () => {
  it("carries the same caps and is valid sh", () => {
    const s = uplinkShaping(context({}));
    const fifo = renderShapingScript(s, new Set());
    expect(fifo).toContain(
      "tc class replace dev tunx parent 1: classid 1:10 htb rate 20000000bit ceil 20000000bit || return 1",
    );
    expect(fifo).toContain(
      "{ tc qdisc replace dev ifbx parent 1:10 handle 10: pfifo limit 25 2>/dev/null || { tc qdisc del dev ifbx parent 1:10 2>/dev/null; tc qdisc replace dev ifbx parent 1:10 handle 10: pfifo limit 25; }; } || return 1",
    );
    expect(fifo).toContain("[ -e /sys/class/net/$IFB ] || ip link add name ifbx type ifb || return 1");
    // HTB refuses "replace" on itself: the script sets the root only where it is not there yet.
    expect(fifo).toContain(
      "{ tc qdisc show dev tunx | grep -q '^qdisc htb 1: root' || { tc qdisc del dev tunx root 2>/dev/null; tc qdisc replace dev tunx root handle 1: htb default 10; }; } || return 1",
    );
    expect(renderShapingScript(s, new Set(["fq_codel"]))).toContain(
      "tc qdisc replace dev tunx parent 1:10 handle 10: fq_codel 2>/dev/null",
    );
    execFileSync("sh", ["-n"], { input: fifo });
  });
});
