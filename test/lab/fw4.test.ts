// The lab's fw4 on a real openwrt lab host, per release: loaded at boot and enforced by nftables as the fixtures say
// (../shared/openwrt/fw4-unzoned-interface.md, raw/firewall-initscript-verbs.txt): wan rejects but answers ping, the
// lan zone (mgmt0) lets SSH in, a device in no zone is rejected on input and forward, an accept in a table of one's
// own does not help, fw4 includes do; and fw4's and the init script's verbs.
// Addresses: the lab's plan (management 198.18.S.x, internet 203.0.113.x, a LAN 10.42.0.0/24); the device in no zone
// gets 10.43.0.0/24, a LAN-style range plan.ts allows behind a host.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labUp, type Lab, type LabHost } from "../../scripts/lab/index.ts";
import { FW4_RELEASES } from "../../scripts/lab/fw4/image.ts";

const run = promisify(execFile);
const SHARED = "/work/shared/openwrt";
const UNZONED = { device: "unzoned0", host: "10.43.0.1", peer: "10.43.0.10" };
const INTERNET_ROUTER = "203.0.113.1";

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
/** accepted (an answer), refused (TCP RST or ICMP port-unreachable: ECONNREFUSED) or timeout (dropped). */
const PROBE = `
import socket, sys
proto, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM); s.settimeout(2)
try:
    s.connect((addr, port))
    if proto == "udp": s.send(b"probe")
    print("accepted" if s.recv(64) else "closed")
except ConnectionRefusedError: print("refused")
except socket.timeout: print("timeout")
`;

const inNs = async (netns: string, argv: string[]) => (await run("ip", ["netns", "exec", netns, ...argv], { encoding: "utf8" })).stdout;
const probe = async (netns: string, proto: "tcp" | "udp", addr: string, port: number) => (await inNs(netns, ["python3", "-c", PROBE, proto, addr, String(port)])).trim();
const ping = async (netns: string, addr: string) => (await run("ip", ["netns", "exec", netns, "ping", "-c", "1", "-W", "1", addr]).then(() => "answered", () => "no answer"));
const tables = async (h: LabHost) => (await h.exec("nft list tables")).stdout.trim().split("\n").filter(Boolean);
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

describe.each(FW4_RELEASES.map((release) => ({ release })))("fw4 on an openwrt $release lab host", ({ release }) => {
  let lab: Lab;
  let host: LabHost;
  let peerNs: string;
  const listeners: ChildProcess[] = [];
  const listen = (netns: string) => {
    const child = spawn("ip", ["netns", "exec", netns, "python3", "-c", LISTENER], { stdio: "ignore" });
    listeners.push(child);
  };
  const suffix = release === "23.05" ? "-23.05" : "";

  beforeAll(async () => {
    lab = await labUp({ hosts: [{ name: "fw", kind: "openwrt", group: "uplinks", release, lan: { subnet: "10.42.0.0/24" } }] });
    host = lab.host("fw");
    peerNs = `${lab.runId}-fz`;
    // A device in no zone (as nebula1 is on a router): a veth to a peer namespace of this test, forwarding on.
    await run("bash", ["-ec", `ip netns add ${peerNs}
ip -n ${peerNs} link set lo up
ip link add ${UNZONED.device} netns ${host.netns} type veth peer name eth0 netns ${peerNs}
ip -n ${host.netns} addr add ${UNZONED.host}/24 dev ${UNZONED.device} && ip -n ${host.netns} link set ${UNZONED.device} up
ip -n ${peerNs} addr add ${UNZONED.peer}/24 dev eth0 && ip -n ${peerNs} link set eth0 up && ip -n ${peerNs} route add default via ${UNZONED.host}
ip netns exec ${host.netns} sysctl -qw net.ipv4.ip_forward=1`]);
    listen(host.netns);
    listen(lab.internet.netns);
    // The listeners are up when the host answers itself over loopback (fw4 accepts lo).
    await until("listener on the host", () => probe(host.netns, "tcp", "127.0.0.1", 9100), (v) => v === "accepted");
    await until("listener in the internet", () => probe(lab.internet.netns, "tcp", INTERNET_ROUTER, 9100), (v) => v === "accepted");
  });
  afterAll(async () => {
    for (const l of listeners) if (l.pid) process.kill(l.pid);
    if (peerNs) await run("ip", ["netns", "del", peerNs]).catch(() => undefined);
    await lab?.down();
  });

  it("is loaded at boot (S19firewall): the kernel holds exactly the captured default ruleset, with this host's devices", async () => {
    expect((await host.exec("readlink /etc/rc.d/S19firewall")).stdout.trim()).toBe("../init.d/firewall");
    expect(await tables(host)).toEqual(["table inet fw4"]);
    // nft lists a set's elements sorted. The capture's nft printed handle_reject's protocol by number ("meta l4proto 6"),
    // this machine's nft (also 1.0.6) by name: a difference in printing, not in what the kernel holds.
    const want = readFileSync(`${SHARED}/nft-list-ruleset-default${suffix}.txt`, "utf8")
      .replaceAll(`"br-lan"`, `{ "lan0", "mgmt0" }`)
      .replaceAll(`"wan"`, `"wan0"`)
      .replace("meta l4proto 6 reject with tcp reset", "meta l4proto tcp reject with tcp reset");
    const got = (await host.exec("nft list ruleset")).stdout;
    expect(zeroCounters(got).trim().split("\n")).toEqual(zeroCounters(want).trim().split("\n"));
  });

  it("fw4 print names this host's zones: lan = mgmt0 + lan0 with their subnets, wan = wan0 with its own subnet", async () => {
    const out = (await host.exec("fw4 print")).stdout;
    const slot = host.mgmtAddress.split(".")[2];
    expect(out).toContain(`\tdefine lan_devices = { "mgmt0", "lan0" }\n\tdefine lan_subnets = { 198.18.${slot}.0/24, 10.42.0.0/24 }\n`);
    expect(out).toContain(`\tdefine wan_devices = { "wan0" }\n\tdefine wan_subnets = { 203.0.113.0/24 }\n`);
    expect(out).not.toMatch(/192\.0\.2\./);
  });

  it("wan: ping answered (Allow-Ping), UDP 4789 and TCP 9100 rejected; the lan zone (mgmt0) admits them and SSH", async () => {
    const inet = lab.internet.netns;
    expect(await ping(inet, host.wanAddress)).toBe("answered");
    expect(await probe(inet, "udp", host.wanAddress, 4789)).toBe("refused");
    expect(await probe(inet, "tcp", host.wanAddress, 9100)).toBe("refused");
    // From the management side (this namespace), the same listeners answer: the rejection above is fw4's.
    expect((await run("python3", ["-c", PROBE, "tcp", host.mgmtAddress, "9100"])).stdout.trim()).toBe("accepted");
    const ssh = await run("ssh", ["-i", lab.sshKeyPath, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", `root@${host.mgmtAddress}`, "echo over-lan"]);
    expect(ssh.stdout.trim()).toBe("over-lan");
  });

  it("a device in no zone: input and forward rejected, ping unanswered", async () => {
    expect(await probe(peerNs, "udp", UNZONED.host, 4789)).toBe("refused");
    expect(await probe(peerNs, "tcp", UNZONED.host, 9100)).toBe("refused");
    expect(await ping(peerNs, UNZONED.host)).toBe("no answer");
    expect(await probe(peerNs, "tcp", INTERNET_ROUTER, 9100)).toBe("refused");
    expect(await probe(peerNs, "udp", INTERNET_ROUTER, 4789)).toBe("refused");
  });

  it("an accept in a table of one's own sees the packets and does not get them past fw4", async () => {
    const own = `table inet mesh {
	chain input {
		type filter hook input priority -10; policy accept;
		iifname "${UNZONED.device}" udp dport 4789 counter accept
		iifname "${UNZONED.device}" tcp dport 9100 counter accept
	}
}`;
    expect((await host.exec(`nft -f - <<'NFT'\n${own}\nNFT`)).code).toBe(0);
    try {
      expect(await probe(peerNs, "udp", UNZONED.host, 4789)).toBe("refused");
      expect(await probe(peerNs, "tcp", UNZONED.host, 9100)).toBe("refused");
      const counters = [...(await host.exec("nft list table inet mesh")).stdout.matchAll(/counter packets (\d+)/g)].map((m) => Number(m[1]));
      expect(counters.every((n) => n >= 1), String(counters)).toBe(true);
    } finally {
      await host.exec("nft delete table inet mesh");
    }
  });

  it("chain-pre/input and chain-pre/forward includes open the device in no zone after a reload (ping stays closed)", async () => {
    const files = `mkdir -p /usr/share/nftables.d/chain-pre/input /usr/share/nftables.d/chain-pre/forward
printf '%s\\n' 'iifname "${UNZONED.device}" udp dport 4789 counter accept' 'iifname "${UNZONED.device}" tcp dport 9100 counter accept' > /usr/share/nftables.d/chain-pre/input/50-mesh.nft
printf '%s\\n' 'iifname "${UNZONED.device}" oifname "wan0" counter accept' > /usr/share/nftables.d/chain-pre/forward/50-mesh.nft`;
    expect((await host.exec(files)).code).toBe(0);
    try {
      const reload = await host.exec("/etc/init.d/firewall reload");
      expect(reload.code, reload.stderr).toBe(0);
      expect(reload.stderr).toContain("[!] Automatically including '/usr/share/nftables.d/chain-pre/input/50-mesh.nft'");
      expect(await probe(peerNs, "udp", UNZONED.host, 4789)).toBe("accepted");
      expect(await probe(peerNs, "tcp", UNZONED.host, 9100)).toBe("accepted");
      expect(await ping(peerNs, UNZONED.host)).toBe("no answer");
      // Forwarded out of wan0 and masqueraded by fw4's srcnat_wan, so the internet's answer finds its way back.
      expect(await probe(peerNs, "tcp", INTERNET_ROUTER, 9100)).toBe("accepted");
    } finally {
      await host.exec("rm -f /usr/share/nftables.d/chain-pre/input/50-mesh.nft /usr/share/nftables.d/chain-pre/forward/50-mesh.nft && fw4 -q reload");
    }
    expect(await probe(peerNs, "tcp", UNZONED.host, 9100)).toBe("refused");
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
    await host.exec(`mkdir -p /usr/share/nftables.d/ruleset-pre && printf '%s\\n' 'table inet fx_pre {' '	chain marker {' '		counter comment "FX ruleset-pre"' '	}' '}' > /usr/share/nftables.d/ruleset-pre/fx.nft`);
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
    await host.exec(`mkdir -p /usr/share/nftables.d/chain-pre/input && echo 'this is not nft' > /usr/share/nftables.d/chain-pre/input/90-broken.nft`);
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
