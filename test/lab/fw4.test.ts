// The lab's fw4 on real openwrt lab routers of both releases, on the pilot's network: loaded at boot and enforced by
// nftables as the fixtures say (../shared/openwrt/fw4-unzoned-interface.md, its raw/ probe rows compared one by one,
// raw/firewall-initscript-verbs.txt): the lan zone is br-lan (the installer's laptop, plugged in, gets SSH and the
// ports), wan is wan0 (probed from the volunteer's own router in front of it: ping answered, the rest rejected), and
// radio0, in no zone as on a stock router with a NanoStation on a spare port, is rejected on input and forward; an
// accept in a table of one's own does not help, fw4 includes do; and fw4's and the init script's verbs.
// The fixture's places, here: its "hub"/"peer" on the device in no zone is a probe namespace on the radio segment
// (10.44.0.250, routed through the router under test), its hub beyond wan the internet router (203.0.113.1, behind the
// volunteer's NAT), its lan host the installer's laptop (192.168.8.100).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labUp, type Lab, type LabHost } from "../../scripts/lab/index.ts";
import { FW4_RELEASES } from "../../scripts/lab/fw4/image.ts";
import { SHARED_OPENWRT, unzonedRows, type UnzonedRow, type UnzonedVariant } from "../../scripts/lab/fw4/fixture.ts";

const run = promisify(execFile);
/** The device in no zone on every router, and the probe namespace's port on the radio segment. */
const UNZONED = { device: "radio0", peer: "10.44.0.250", prefix: 24, port: "fz0" };
const INTERNET_ROUTER = "203.0.113.1";
const routerName = (release: string) => `fw-${release.replace(".", "")}`;

/** A TCP 9100 server (says "ok") and a UDP 4789 echo, as the fixture's listeners. */
const LISTENER = `
import socket, threading
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("0.0.0.0", 9100)); t.listen(16)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 4789))
def udp():
    while True:
        data, peer = u.recvfrom(2048); u.sendto(data, peer)
threading.Thread(target=udp, daemon=True).start()
while True:
    c, _ = t.accept(); c.sendall(b"ok\\n"); c.close()
`;
/**
 * Probes from one namespace, all at once (one thread each): argv[1] is a JSON list of [proto, addr, port]; prints a
 * JSON list of results. TCP/UDP: accepted (an answer), refused (TCP RST or ICMP port-unreachable: ECONNREFUSED) or
 * timeout (dropped); ping: answered or no answer.
 */
const PROBES = `
import json, socket, subprocess, sys, threading
def one(proto, addr, port):
    if proto == "ping":
        return "answered" if subprocess.run(["ping", "-c", "1", "-W", "1", addr], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0 else "no answer"
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM); s.settimeout(2)
    try:
        s.connect((addr, port))
        if proto == "udp": s.send(b"probe")
        return "accepted" if s.recv(64) else "closed"
    except ConnectionRefusedError: return "refused"
    except socket.timeout: return "timeout"
    finally: s.close()
todo = json.loads(sys.argv[1]); out = [None] * len(todo)
def run(i): out[i] = one(*todo[i])
threads = [threading.Thread(target=run, args=(i,)) for i in range(len(todo))]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(out))
`;
type Probe = ["tcp" | "udp", string, number] | ["ping", string, 0];

const inNs = async (netns: string, argv: string[]) =>
  (await run("ip", ["netns", "exec", netns, ...argv], { encoding: "utf8" })).stdout;
const probeAll = async (netns: string, probes: Probe[]) =>
  JSON.parse(await inNs(netns, ["python3", "-c", PROBES, JSON.stringify(probes)])) as string[];
const probe = async (netns: string, proto: "tcp" | "udp", addr: string, port: number) =>
  (await probeAll(netns, [[proto, addr, port]]))[0];
const tables = async (h: LabHost<"pilot">) =>
  (await h.exec("nft list tables")).stdout.trim().split("\n").filter(Boolean);
/** Counters of a listing set to zero, so a ruleset compares whatever traffic it has seen. */
const zeroCounters = (text: string) => text.replace(/counter packets \d+ bytes \d+/g, "counter packets 0 bytes 0");

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last = await read();
  while (!ok(last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    last = await read();
  }
  if (!ok(last)) throw new Error(`${what}: still ${JSON.stringify(last)} after ${ms} ms`);
  return last;
}

// One lab for both releases: the hub the pilot topology needs (in the kitchen, unused here) and a router per release.
let lab: Lab<"pilot">;
let probeNs: string;
const listeners: ChildProcess[] = [];
const listen = (netns: string) =>
  listeners.push(spawn("ip", ["netns", "exec", netns, "python3", "-c", LISTENER], { stdio: "ignore" }));

beforeAll(async () => {
  lab = await labUp({
    topology: "pilot",
    hosts: [
      { name: "hub", kind: "debian", group: "hub" },
      ...FW4_RELEASES.map((release) => ({
        name: routerName(release),
        kind: "openwrt" as const,
        group: "uplinks",
        release,
      })),
    ],
  });
  // A device on the radio segment (as the fixture's peer behind nebula1): its default route goes through the router
  // under test (each describe below sets it).
  probeNs = `${lab.runId}-fz`;
  await run("bash", [
    "-ec",
    `ip netns add ${probeNs}
ip -n ${probeNs} link set lo up
ip -n ${lab.radio.netns} link add ${UNZONED.port} type veth peer name eth0 netns ${probeNs}
ip -n ${lab.radio.netns} link set ${UNZONED.port} master br0 && ip -n ${lab.radio.netns} link set ${UNZONED.port} up
ip -n ${probeNs} addr add ${UNZONED.peer}/${UNZONED.prefix} dev eth0 && ip -n ${probeNs} link set eth0 up`,
  ]);
  for (const ns of [
    probeNs,
    lab.internet.netns,
    lab.installer.netns,
    ...lab.hosts.filter((h) => h.kind === "openwrt").map((h) => h.netns),
  ])
    listen(ns);
  await until(
    "listener in the internet",
    () => probe(lab.internet.netns, "tcp", INTERNET_ROUTER, 9100),
    (v) => v === "accepted",
  );
  await until(
    "listener on the radio segment",
    () => probe(probeNs, "tcp", UNZONED.peer, 9100),
    (v) => v === "accepted",
  );
}, 300_000);
afterAll(async () => {
  for (const l of listeners) if (l.pid) process.kill(l.pid);
  if (probeNs) await run("ip", ["netns", "del", probeNs]).catch(() => undefined);
  await lab?.down();
});

describe.each(FW4_RELEASES.map((release) => ({ release })))("fw4 on an openwrt $release lab router", ({ release }) => {
  let host: LabHost<"pilot">;
  /** The network namespace of the volunteer's own router, in front of wan0. */
  let gateway: string;
  const suffix = release === "23.05" ? "-23.05" : "";
  /**
   * The router's own address on radio0, given by this test: a stock router has none on a spare port until someone
   * configures it (and fw4 puts the port in no zone either way).
   */
  const radioAddress = `10.44.0.${240 + FW4_RELEASES.indexOf(release)}`;
  const radio = () => radioAddress;

  /** Where each of the fixture's probes runs on the pilot, and whether it is a ping: see the header. */
  const place = (row: UnzonedRow): { from: string; to: string } => {
    const laptop = lab.installer.netns;
    switch (row.id) {
      case "T1":
        return { from: probeNs, to: radio() }; // input on the device in no zone
      case "T2":
        return { from: gateway, to: host.wanAddress }; // input on wan
      case "T3":
        return { from: probeNs, to: INTERNET_ROUTER }; // forward no zone -> wan
      case "T4":
        return { from: probeNs, to: lab.installer.address }; // forward no zone -> lan
      case "T5":
        return { from: laptop, to: INTERNET_ROUTER }; // forward lan -> wan (control)
      case "T6":
        return { from: laptop, to: UNZONED.peer }; // forward lan -> no zone
      case "T7":
        return { from: laptop, to: host.routerLanAddress! }; // input on lan (control)
      case "T8":
        return { from: host.netns, to: UNZONED.peer }; // the router's own output on the device in no zone
      case "T9":
        return row.to === "wan" ? { from: gateway, to: host.wanAddress } : { from: probeNs, to: radio() };
      default:
        throw new Error(`fw4 fixture row ${row.id} has no place in this test: ${row.line}`);
    }
  };
  /**
   * Every row of a captured variant, probed here (the rows of one place at once: they are independent), the lab's
   * outcome against the capture's, row by row.
   */
  const compareRows = async (variant: UnzonedVariant) => {
    const rows = unzonedRows(variant);
    expect(rows.length, variant).toBeGreaterThan(0);
    const got: string[] = new Array(rows.length);
    const byPlace = new Map<string, number[]>();
    rows.forEach((row, i) => byPlace.set(place(row).from, [...(byPlace.get(place(row).from) ?? []), i]));
    await Promise.all(
      [...byPlace].map(async ([from, indexes]) => {
        const probes = indexes.map((i): Probe =>
          rows[i].proto === "ping"
            ? ["ping", place(rows[i]).to, 0]
            : [rows[i].proto as "tcp" | "udp", place(rows[i]).to, rows[i].port!],
        );
        (await probeAll(from, probes)).forEach(
          (result, k) => (got[indexes[k]] = `${rows[indexes[k]].line} => ${result}`),
        );
      }),
    );
    expect(got).toEqual(rows.map((row) => `${row.line} => ${row.outcome}`));
  };

  beforeAll(async () => {
    host = lab.host(routerName(release));
    // The lab names its namespaces; the gateway's is the one a shell run there is in.
    gateway = (await host.execGateway("ip netns identify $$")).stdout.trim();
    expect(gateway).toMatch(new RegExp(`^${lab.runId}-`));
    const addr = await host.exec(`ip addr add ${radioAddress}/${UNZONED.prefix} dev ${UNZONED.device}`);
    expect(addr.code, addr.stderr).toBe(0);
    await lab.installer.plugInto(host.name);
    await run("ip", ["-n", probeNs, "route", "replace", "default", "via", radio()]);
    // The listeners are up when the router answers itself over loopback (fw4 accepts lo).
    await until(
      "listener on the router",
      () => probe(host.netns, "tcp", "127.0.0.1", 9100),
      (v) => v === "accepted",
    );
  });

  it("is loaded at boot (S19firewall): the kernel holds exactly the captured default ruleset, with this router's devices", async () => {
    expect((await host.exec("readlink /etc/rc.d/S19firewall")).stdout.trim()).toBe("../init.d/firewall");
    expect(await tables(host)).toEqual(["table inet fw4"]);
    // lan is br-lan as on the captured router; its wan device was "wan", here wan0. nft lists a set's elements sorted.
    // The capture's nft printed handle_reject's protocol by number ("meta l4proto 6"), this machine's nft (also 1.0.6)
    // by name: a difference in printing, not in what the kernel holds.
    const want = readFileSync(join(SHARED_OPENWRT, `nft-list-ruleset-default${suffix}.txt`), "utf8")
      .replaceAll(`"wan"`, `"wan0"`)
      .replace("meta l4proto 6 reject with tcp reset", "meta l4proto tcp reject with tcp reset");
    const got = (await host.exec("nft list ruleset")).stdout;
    expect(zeroCounters(got).trim().split("\n")).toEqual(zeroCounters(want).trim().split("\n"));
  });

  it("fw4 print names this router's zones: lan = br-lan 192.168.8.0/24, wan = wan0 with the home LAN's subnet; radio0 in none", async () => {
    const out = (await host.exec("fw4 print")).stdout;
    const homeLan = host.wanAddress.replace(/\.\d+$/, ".0/24");
    expect(out).toContain(`\tdefine lan_devices = { "br-lan" }\n\tdefine lan_subnets = { 192.168.8.0/24 }\n`);
    expect(out).toContain(`\tdefine wan_devices = { "wan0" }\n\tdefine wan_subnets = { ${homeLan} }\n`);
    expect(out).not.toContain("radio0");
    expect(out).not.toMatch(/192\.0\.2\./);
  });

  it("the default config, row by row as captured (raw/fw4-unzoned-results-default-<release>.txt)", async () => {
    await compareRows(release === "23.05" ? "default-23.05" : "default-24.10");
  });

  it("the lan zone (br-lan) lets the installer's laptop in over SSH; wan (wan0) does not, from the volunteer's router", async () => {
    const ssh = (netns: string, addr: string) =>
      run(
        "ip",
        [
          "netns",
          "exec",
          netns,
          "ssh",
          "-i",
          lab.sshKeyPath,
          "-o",
          "BatchMode=yes",
          "-o",
          "ConnectTimeout=3",
          "-o",
          "StrictHostKeyChecking=no",
          "-o",
          "UserKnownHostsFile=/dev/null",
          "-o",
          "LogLevel=ERROR",
          `root@${addr}`,
          "echo over-lan",
        ],
        { encoding: "utf8" },
      ).then(
        (r) => r.stdout.trim(),
        () => "refused",
      );
    expect(await ssh(lab.installer.netns, host.routerLanAddress!)).toBe("over-lan");
    expect(await ssh(gateway, host.wanAddress)).toBe("refused");
    expect(await probe(gateway, "tcp", host.wanAddress, 22)).toBe("refused");
  });

  it("an accept in a table of one's own sees the packets and does not get them past fw4 (raw/fw4-unzoned-results-with-own-table.txt)", async () => {
    const own = `table inet mesh {
	chain input {
		type filter hook input priority -10; policy accept;
		iifname "${UNZONED.device}" udp dport 4789 counter accept
		iifname "${UNZONED.device}" tcp dport 9100 counter accept
	}
}`;
    expect((await host.exec(`nft -f - <<'NFT'\n${own}\nNFT`)).code).toBe(0);
    try {
      await compareRows("with-own-table");
      const counters = [...(await host.exec("nft list table inet mesh")).stdout.matchAll(/counter packets (\d+)/g)].map(
        (m) => Number(m[1]),
      );
      expect(
        counters.every((n) => n >= 1),
        String(counters),
      ).toBe(true);
    } finally {
      await host.exec("nft delete table inet mesh");
    }
  });

  it("chain-pre/input and chain-pre/forward includes open the device in no zone after a reload, row by row (raw/fw4-unzoned-results-with-chain-pre-include.txt)", async () => {
    const files = `mkdir -p /usr/share/nftables.d/chain-pre/input /usr/share/nftables.d/chain-pre/forward
printf '%s\\n' 'iifname "${UNZONED.device}" udp dport 4789 counter accept' 'iifname "${UNZONED.device}" tcp dport 9100 counter accept' > /usr/share/nftables.d/chain-pre/input/50-mesh.nft
printf '%s\\n' 'iifname "${UNZONED.device}" oifname "wan0" counter accept' > /usr/share/nftables.d/chain-pre/forward/50-mesh.nft`;
    expect((await host.exec(files)).code).toBe(0);
    try {
      const reload = await host.exec("/etc/init.d/firewall reload");
      expect(reload.code, reload.stderr).toBe(0);
      expect(reload.stderr).toContain(
        "[!] Automatically including '/usr/share/nftables.d/chain-pre/input/50-mesh.nft'",
      );
      // T3 is forwarded out of wan0 and masqueraded by fw4's srcnat_wan (then by the volunteer's router), so the
      // internet's answer finds its way back.
      await compareRows("with-chain-pre-include");
    } finally {
      await host.exec(
        "rm -f /usr/share/nftables.d/chain-pre/input/50-mesh.nft /usr/share/nftables.d/chain-pre/forward/50-mesh.nft && fw4 -q reload",
      );
    }
    expect(await probe(probeNs, "tcp", radio(), 9100)).toBe("refused");
  });

  it("fw4's and the init script's verbs act as measured", async () => {
    const sh = async (cmd: string) => {
      const r = await host.exec(cmd);
      return { code: r.code, out: r.stdout.trim(), err: r.stderr.trim() };
    };
    await sh("nft add table inet mytool && nft add table ip meshisp");
    expect(await tables(host)).toEqual(["table inet fw4", "table inet mytool", "table ip meshisp"]);
    // A second start: fw4 refuses with exit 1, the init script still exits 0.
    expect(await sh("fw4 start")).toMatchObject({ code: 1, err: "The fw4 firewall appears to be already loaded." });
    expect((await sh("/etc/init.d/firewall start")).code).toBe(0);
    // reload replaces only inet fw4 (order kept), restart re-creates it (listed last), fw4 stop deletes only it.
    expect((await sh("/etc/init.d/firewall reload")).code).toBe(0);
    expect(await tables(host)).toEqual(["table inet fw4", "table inet mytool", "table ip meshisp"]);
    expect((await sh("/etc/init.d/firewall restart")).code).toBe(0);
    expect(await tables(host)).toEqual(["table inet mytool", "table ip meshisp", "table inet fw4"]);
    expect((await sh("fw4 stop")).code).toBe(0);
    expect(await tables(host)).toEqual(["table inet mytool", "table ip meshisp"]);
    expect((await sh("fw4 reload")).err).toBe("The fw4 firewall does not appear to be loaded.");
    expect((await sh("fw4 start")).code).toBe(0);
    // The init script's stop is fw4 flush: every table goes; start brings back only fw4's.
    expect((await sh("/etc/init.d/firewall stop")).code).toBe(0);
    expect(await tables(host)).toEqual([]);
    expect((await sh("/etc/init.d/firewall start")).code).toBe(0);
    expect(await tables(host)).toEqual(["table inet fw4"]);
    // status and running of a procd service without an instance.
    expect(await sh("/etc/init.d/firewall status")).toMatchObject({ code: 0, out: "active with no instances" });
    expect((await sh("/etc/init.d/firewall running")).code).toBe(1);
  });

  it("ruleset-level includes pile up on reloads without a flush (3 copies after 3 loads)", async () => {
    await host.exec(
      `mkdir -p /usr/share/nftables.d/ruleset-pre && printf '%s\\n' 'table inet fx_pre {' '	chain marker {' '		counter comment "FX ruleset-pre"' '	}' '}' > /usr/share/nftables.d/ruleset-pre/fx.nft`,
    );
    try {
      await host.exec("fw4 -q reload && fw4 -q reload && fw4 -q reload");
      const copies = (await host.exec("nft list table inet fx_pre")).stdout.match(/FX ruleset-pre/g) ?? [];
      expect(copies).toHaveLength(3);
    } finally {
      await host.exec("rm -f /usr/share/nftables.d/ruleset-pre/fx.nft && nft delete table inet fx_pre; fw4 -q reload");
    }
  });

  it("fw4 check passes the default ruleset and reports an include file's error with a non-zero exit", async () => {
    const good = await host.exec("fw4 check");
    expect(good.code).toBe(0);
    expect(good.stdout.trim()).toBe("Ruleset passes nftables check.");
    await host.exec(
      `mkdir -p /usr/share/nftables.d/chain-pre/input && echo 'this is not nft' > /usr/share/nftables.d/chain-pre/input/90-broken.nft`,
    );
    try {
      const bad = await host.exec("fw4 check");
      expect(bad.code).not.toBe(0);
      expect(bad.stdout).not.toContain("passes");
      expect(bad.stderr).toMatch(/90-broken\.nft.*\n?.*Error|Error.*90-broken|syntax error/i);
      expect(await tables(host)).toEqual(["table inet fw4"]);
    } finally {
      await host.exec("rm -f /usr/share/nftables.d/chain-pre/input/90-broken.nft");
    }
  });
});
