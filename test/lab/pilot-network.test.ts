// The pilot topology's network: who reaches what (the kitchen laptop only the hub; the installer only the router it is
// plugged into, every router at 192.168.8.1 with its own key), nothing added to the root namespace, the hub's Starlink
// outbound only, the radio link's rate measured with iperf3, radio and line cuts, a reboot waited for from inside.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labUp, type PilotLab } from "../../scripts/lab/index.ts";
import { dialIn } from "../../scripts/lab/pilot/laptop.ts";
import { DEFAULT_RADIO_MBIT, RADIO_HUB } from "../../scripts/lab/pilot/plan.ts";
import { bash, inNetns, q } from "../../scripts/lab/shell.ts";
import { sh } from "../../lib/command.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import { Session } from "../../lib/runner/session.ts";
import { configureRadioPort } from "./radio-port-setup.ts";

const runId = `mlpn${randomBytes(2).toString("hex")}`;
let lab: PilotLab;
let rootBefore: string[];
let upMs = 0;

/** The root namespace's addresses, routes and links, without lines naming another lab (they come and go meanwhile). */
async function rootNamespace(): Promise<string[]> {
  const out = (await bash("ip -o addr; ip route; ip -o link")).stdout;
  const foreign = (line: string) => [...line.matchAll(/\bml[0-9a-z]+/g)].some((m) => !m[0].startsWith(runId));
  return (
    out
      .split("\n")
      .map((l) => l.replace(/\s+/g, " ").trim())
      .filter((l) => l && !foreign(l))
      // Counters and the link state of the machine's own interfaces are not the lab's doing.
      .map((l) => l.replace(/ state \S+/, "").replace(/ qlen \d+/, ""))
  );
}

/** Whether a TCP connection to host:port opens from inside `netns` (the way the runner's dial makes it). */
async function opens(netns: string, host: string, port = 22): Promise<boolean> {
  try {
    const socket = await dialIn(netns, host, port, 3000);
    socket.destroy();
    return true;
  } catch {
    return false;
  }
}

/** The hostname an SSH login from the installer's laptop to 192.168.8.1 lands on, and the key it presented. */
async function installerSees(): Promise<{ hostname: string; key: string }> {
  const ssh = `ssh -i ${q(lab.sshKeyPath)} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5 root@192.168.8.1`;
  const hostname = (await lab.installer.exec(`${ssh} cat /proc/sys/kernel/hostname`)).stdout.trim();
  const key = (await lab.installer.exec("ssh-keyscan -T 5 -t ed25519 192.168.8.1 2>/dev/null")).stdout
    .trim()
    .split(" ")
    .slice(1, 3)
    .join(" ");
  return { hostname, key };
}

/** Polls a command in a namespace until it succeeds (true) or the deadline passes (false). */
async function until(netns: string, cmd: string, want: boolean, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  do {
    if (((await inNetns(netns, cmd)).code === 0) === want) return true;
  } while (Date.now() < deadline);
  return false;
}

/** iperf3 through the radio, the router's client toward the hub's radio address; Mbit/s received. */
async function radioMbit(router: string, reverse: boolean): Promise<number> {
  const hub = lab.host("hub").netns;
  await inNetns(hub, `iperf3 -s -1 -D -B ${RADIO_HUB} -p 5299`);
  // The server starts in the background: the client retries until it listens (a deadline, no fixed sleep).
  const client = `i=0; while [ $i -lt 50 ]; do out=$(iperf3 -c ${RADIO_HUB} -p 5299 -t 4 -O 1 -J ${reverse ? "-R" : ""} 2>/dev/null) && { echo "$out"; exit 0; }; i=$((i+1)); sleep 0.1; done; exit 1`;
  const r = await inNetns(lab.host(router).netns, client);
  expect(r.code, r.stderr).toBe(0);
  return (
    (JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second /
    1e6
  );
}

beforeAll(async () => {
  rootBefore = await rootNamespace();
  const t0 = Date.now();
  lab = await labUp({
    topology: "pilot",
    runId,
    hosts: [
      { name: "hub", kind: "debian", group: "hub" },
      { name: "relay", kind: "debian", group: "relays" },
      { name: "uplink-1", kind: "openwrt", release: "23.05", group: "uplinks" },
      { name: "uplink-3", kind: "openwrt", release: "24.10", group: "uplinks", site: "remote" },
    ],
  });
  upMs = Date.now() - t0;
  console.log(`pilot lab (4 hosts, 2 OpenWrt releases) up in ${upMs} ms`);
  // radio0 comes up with no address, as on a real router: the field's radio-port role gives uplink-1 its own.
  await configureRadioPort(lab, "uplink-1");
}, 600_000);
afterAll(async () => {
  await lab?.down();
});

describe("the pilot topology", () => {
  it("adds no bridge, address, route or link to the root namespace", async () => {
    expect(await rootNamespace()).toEqual(rootBefore);
    expect(lab.hosts.map((h) => [h.name, h.site])).toEqual([
      ["hub", "kitchen"],
      ["relay", "public"],
      ["uplink-1", "home"],
      ["uplink-3", "remote"],
    ]);
  });

  it("the kitchen laptop reaches the hub's SSH and no other node, also when the hub forwards", async () => {
    const k = lab.laptop("kitchen");
    expect(k.address).toBe("10.42.0.20");
    const s = await k.dial("10.42.0.1", 22);
    const banner = await new Promise<string>((resolve) => s.once("data", (d: Buffer) => resolve(d.toString())));
    s.destroy();
    expect(banner).toMatch(/^SSH-2\.0-OpenSSH/);
    const u1 = lab.host("uplink-1");
    const u3 = lab.host("uplink-3");
    const targets = [
      u1.radioAddress!,
      u1.wanAddress,
      u1.publicAddress,
      "192.168.8.1",
      u3.wanAddress,
      u3.publicAddress,
      lab.host("relay").meshIp!,
    ];
    for (const forwarding of [0, 1]) {
      // The routing role turns forwarding on; the radio (fw4: radio0 in no zone) and the homes' NATs still refuse.
      await lab.host("hub").exec(`sysctl -qw net.ipv4.ip_forward=${forwarding}`);
      const reached = await Promise.all(targets.map((t) => opens(k.netns, t)));
      expect(Object.fromEntries(targets.map((t, i) => [t, reached[i]])), `hub forwarding ${forwarding}`).toEqual(
        Object.fromEntries(targets.map((t) => [t, false])),
      );
    }
    await lab.host("hub").exec("sysctl -qw net.ipv4.ip_forward=0");
  }, 120_000);

  it("the runner runs from the kitchen laptop: its dial reaches the hub at its inventory address; npx tsx runs there", async () => {
    const inventory = loadInventory(lab.inventoryPath);
    const session = new Session(inventory, { output: "silent", dial: lab.laptop("kitchen").dial });
    try {
      const hub = await session.connect(inventory.hosts.find((h) => h.name === "hub")!);
      expect((await hub.run(sh`cat /proc/sys/kernel/hostname`)).stdout.trim()).toBe("hub");
    } finally {
      await session.close();
    }
    const cli = await lab
      .laptop("kitchen")
      .exec(
        `cd ${q(process.cwd())} && npx tsx -e "const s = require('node:net').connect(22, '10.42.0.1'); s.once('data', (d) => { console.log(String(d).slice(0, 8)); s.destroy(); })"`,
      );
    expect(cli.stdout.trim(), cli.stderr).toBe("SSH-2.0-");
  }, 60_000);

  it("the installer reaches 192.168.8.1 of the router it is plugged into only; each router has its own key", async () => {
    const u1 = lab.host("uplink-1");
    const u3 = lab.host("uplink-3");
    expect(await opens(lab.installer.netns, "192.168.8.1")).toBe(false);
    await lab.installer.plugInto("uplink-1");
    expect([lab.installer.pluggedInto, lab.installer.address]).toEqual(["uplink-1", "192.168.8.100"]);
    expect(await installerSees()).toEqual({ hostname: "uplink-1", key: u1.hostKey });
    const elsewhere = ["10.42.0.1", RADIO_HUB, lab.host("relay").meshIp!, u3.wanAddress];
    expect(await Promise.all(elsewhere.map((t) => opens(lab.installer.netns, t)))).toEqual(elsewhere.map(() => false));
    await lab.installer.plugInto("uplink-3");
    expect(await installerSees()).toEqual({ hostname: "uplink-3", key: u3.hostKey });
    expect(u3.hostKey).not.toBe(u1.hostKey);
    expect([u1.routerLanAddress, u3.routerLanAddress]).toEqual(["192.168.8.1", "192.168.8.1"]);
    await lab.installer.unplug();
    expect(await opens(lab.installer.netns, "192.168.8.1")).toBe(false);
  }, 120_000);

  it("the hub's Starlink: outbound works, nothing from the internet reaches the hub", async () => {
    const hub = lab.host("hub");
    expect(hub.wanAddress).toBe("100.64.0.2");
    expect((await inNetns(hub.netns, "ping -c 1 -W 3 198.51.100.10")).code).toBe(0);
    await inNetns(hub.netns, `busybox nc -l -p 2222 -e echo from-hub >/dev/null 2>&1 &`);
    expect(await until(hub.netns, "ss -ltn | grep -q :2222", true)).toBe(true);
    for (const [address, port] of [
      [hub.publicAddress, 22],
      [hub.publicAddress, 2222],
      [hub.wanAddress, 22],
      ["10.42.0.1", 22],
    ] as const) {
      expect(await opens(lab.internet.netns, address, port), `${address}:${port} from the internet`).toBe(false);
    }
    // The listener was real: the kitchen laptop reaches it.
    expect(await opens(lab.laptop("kitchen").netns, "10.42.0.1", 2222)).toBe(true);
  }, 60_000);

  it(`the radio link is shaped to ${DEFAULT_RADIO_MBIT} Mbit/s each way (iperf3)`, async () => {
    expect(lab.host("uplink-1").radioMbit).toBe(DEFAULT_RADIO_MBIT);
    const up = await radioMbit("uplink-1", false);
    const down = await radioMbit("uplink-1", true);
    console.log(
      `radio uplink-1: up ${up.toFixed(1)} Mbit/s, down ${down.toFixed(1)} Mbit/s (set ${DEFAULT_RADIO_MBIT})`,
    );
    for (const rate of [up, down]) {
      expect(rate).toBeGreaterThan(DEFAULT_RADIO_MBIT * 0.9);
      expect(rate).toBeLessThan(DEFAULT_RADIO_MBIT * 1.02);
    }
  }, 120_000);

  it("a cut radio link and a cut home line, each restored", async () => {
    const u1 = lab.host("uplink-1");
    const toHub = `ping -c 1 -W 1 ${RADIO_HUB}`;
    const toInternet = "ping -c 1 -W 1 198.51.100.10";
    expect(await until(u1.netns, toHub, true)).toBe(true);
    await u1.cutRadio();
    expect(await until(u1.netns, toHub, false)).toBe(true);
    expect((await inNetns(u1.netns, "cat /sys/class/net/radio0/carrier")).stdout.trim()).toBe("1");
    expect((await inNetns(u1.netns, toInternet)).code).toBe(0);
    await u1.restoreRadio();
    expect(await until(u1.netns, toHub, true)).toBe(true);
    await u1.cutLine();
    expect(await until(u1.netns, toInternet, false)).toBe(true);
    expect((await inNetns(u1.netns, toHub)).code).toBe(0);
    await u1.restoreLine();
    expect(await until(u1.netns, toInternet, true)).toBe(true);
    await expect(lab.host("relay").cutLine()).rejects.toThrow(/no line/);
  }, 120_000);

  it("reboots the hub and a router; SSH answers again (waited for inside), with the lab's wiring back", async () => {
    await lab.installer.plugInto("uplink-1");
    const [hub, router] = await Promise.all([lab.host("hub").reboot(), lab.host("uplink-1").reboot()]);
    console.log(`reboot in pilot: hub ${hub.ms} ms, uplink-1 ${router.ms} ms`);
    const s = await lab.laptop("kitchen").dial("10.42.0.1", 22);
    s.destroy();
    expect(await installerSees()).toEqual({ hostname: "uplink-1", key: lab.host("uplink-1").hostKey });
    expect(await until(lab.host("uplink-1").netns, `ping -c 1 -W 1 ${RADIO_HUB}`, true)).toBe(true);
    // fw4 is loaded again at boot (S19firewall), maybe after dropbear answers: poll inside the router.
    const fw4 = await lab
      .host("uplink-1")
      .exec(
        "i=0; while [ $i -lt 30 ]; do nft list chain inet fw4 input 2>/dev/null | grep -q br-lan && exit 0; sleep 1; i=$((i+1)); done; exit 1",
      );
    expect(fw4.code).toBe(0);
    expect(await rootNamespace()).toEqual(rootBefore);
    await lab.installer.unplug();
  }, 300_000);

  it("down removes every namespace and leaves the root namespace as it was", async () => {
    await lab.down();
    expect((await bash("ip netns list")).stdout.split("\n").filter((l) => l.startsWith(`${runId}-`))).toEqual([]);
    expect(await rootNamespace()).toEqual(rootBefore);
  }, 120_000);
});
