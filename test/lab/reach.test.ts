// Connection paths on real lab hosts: jumps through hosts (ssh_via, reused, closed with the session), a changed key
// refused through a jump, each failing hop named, and the first hop made by a dial hook from another namespace.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Duplex } from "node:stream";
import { parseDocument } from "yaml";
import { knownHostsLines, labUp, type Lab } from "../../scripts/lab/index.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import type { Inventory } from "../../lib/inventory/types.ts";
import { Session, type SessionOptions } from "../../lib/runner/session.ts";
import { sh } from "../../lib/command.ts";
import { baseRole } from "../../roles/base/index.ts";
import type { Play } from "../../lib/play.ts";

const play: Play = { name: "base", hosts: ["all"], roles: [baseRole] };
let lab: Lab;
/** hub direct (management address); owrt-1 at its WAN address via hub; owrt-2 at its WAN address via owrt-1. */
let jumps: Inventory;

const host = (name: string) => jumps.hosts.find((h) => h.name === name)!;
const session = (options: SessionOptions = {}) => new Session(jumps, { output: "silent", connectTimeoutMs: 20_000, ...options });
/** The client address the SSH server saw ($SSH_CONNECTION's first field): which hop the connection came from. */
const sourceOf = async (s: Session, name: string) => (await (await s.connect(host(name))).run(sh`echo $SSH_CONNECTION`)).stdout.trim().split(" ")[0];

beforeAll(async () => {
  lab = await labUp({
    hosts: [
      { name: "hub", kind: "debian", group: "hub" },
      { name: "owrt-1", kind: "openwrt", group: "uplinks" },
      { name: "owrt-2", kind: "openwrt", release: "23.05", group: "uplinks" },
    ],
  });
  // Keys pinned by node name, as the lab's helper writes them (never by address).
  writeFileSync(lab.knownHostsPath, knownHostsLines(lab));
  // fw4 rejects SSH on the WAN: open it so that one router can be reached from another host over the simulated internet.
  for (const name of ["owrt-1", "owrt-2"]) await lab.host(name).exec("nft insert rule inet fw4 input_wan tcp dport 22 counter accept");
  const doc = parseDocument(readFileSync(lab.inventoryPath, "utf8"));
  doc.setIn(["groups", "uplinks", "hosts", "owrt-1", "address"], lab.host("owrt-1").wanAddress);
  doc.setIn(["groups", "uplinks", "hosts", "owrt-1", "vars", "ssh_via"], "hub");
  doc.setIn(["groups", "uplinks", "hosts", "owrt-2", "address"], lab.host("owrt-2").wanAddress);
  doc.setIn(["groups", "uplinks", "hosts", "owrt-2", "vars", "ssh_via"], "owrt-1");
  const file = join(lab.dir, "jumps.yml");
  writeFileSync(file, doc.toString({ lineWidth: 0 }));
  jumps = loadInventory(file);
}, 600_000);
afterAll(async () => {
  await lab?.down();
});

describe("connection paths", () => {
  it("reaches a router through two jumps (hub, then another router's dropbear), each hop reusing the jump's one connection", async () => {
    expect([host("owrt-1").via, host("owrt-2").via]).toEqual(["hub", "owrt-1"]);
    const direct = new Session(loadInventory(lab.inventoryPath), { output: "silent" });
    const s = session();
    try {
      let t0 = performance.now();
      await direct.connect(loadInventory(lab.inventoryPath).hosts.find((h) => h.name === "owrt-2")!);
      const directMs = performance.now() - t0;
      t0 = performance.now();
      await s.connect(host("owrt-2"));
      const twoJumpsMs = performance.now() - t0;
      // owrt-2 saw owrt-1's WAN address, owrt-1 saw the hub's: the path went hub -> owrt-1 -> owrt-2.
      expect(await sourceOf(s, "owrt-2")).toBe(lab.host("owrt-1").wanAddress);
      expect(await sourceOf(s, "owrt-1")).toBe(lab.host("hub").wanAddress);
      expect(await sourceOf(s, "hub")).not.toBe(lab.host("hub").wanAddress);
      // One connection per host: the hub holds one SSH session from the runner, used by the hub and by both jumps.
      const established = (await lab.host("hub").exec("ss -Htn state established '( sport = :22 )' | wc -l")).stdout.trim();
      expect(established).toBe("1");
      console.log(`connect: owrt-2 direct ${directMs.toFixed(0)} ms, through hub and owrt-1 (hub, owrt-1 and owrt-2 handshakes) ${twoJumpsMs.toFixed(0)} ms`);
    } finally {
      await direct.close();
      await s.close();
    }
    // Closing the session closed the jumps too: nothing of ours is left on the hub's SSH port.
    const deadline = Date.now() + 10_000;
    let left = "1";
    while (Date.now() < deadline && left !== "0") {
      left = (await lab.host("hub").exec("ss -Htn state established '( sport = :22 )' | wc -l")).stdout.trim();
      if (left !== "0") await new Promise((r) => setTimeout(r, 200));
    }
    expect(left).toBe("0");
  });

  it("converges every host through the jumps, and the second run changes nothing", async () => {
    const converge = async () => {
      const s = session();
      try {
        return await s.run(play);
      } finally {
        await s.close();
      }
    };
    const first = await converge();
    for (const r of first) expect([r.host, r.failed, r.unreachable, r.error]).toEqual([r.host, 0, false, undefined]);
    expect(first.find((r) => r.host === "owrt-2")!.changed).toBeGreaterThan(0);
    const second = await converge();
    for (const r of second) expect([r.host, r.changed]).toEqual([r.host, 0]);
    expect((await lab.host("owrt-2").exec("cat /etc/meshisp/node.conf")).stdout).toContain("name=owrt-2");
  });

  it("a changed host key behind a jump is refused, naming the node and the pin, and nothing runs", async () => {
    const pinned = readFileSync(jumps.knownHosts, "utf8");
    const forged = pinned.split("\n").map((l) => (l.startsWith("owrt-2 ") ? "owrt-2 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl" : l));
    writeFileSync(jumps.knownHosts, forged.join("\n"));
    try {
      await lab.host("owrt-2").exec("rm -f /etc/meshisp/node.conf");
      const s = session({ limit: "owrt-2" });
      const [recap] = await s.run(play);
      await s.close();
      expect(recap.failed + (recap.unreachable ? 1 : 0)).toBe(1);
      const line = forged.findIndex((l) => l.startsWith("owrt-2 ")) + 1;
      expect(recap.error).toMatch(new RegExp(`owrt-2 via owrt-1 \\(root@[0-9.]+\\): HOST KEY CHANGED: owrt-2 now presents ssh-ed25519 SHA256:\\S+, but ${jumps.knownHosts}:${line} pins SHA256:`));
      expect((await lab.host("owrt-2").exec("test -e /etc/meshisp/node.conf; echo $?")).stdout.trim()).toBe("1");
    } finally {
      writeFileSync(jumps.knownHosts, pinned);
    }
  });

  it("says which hop failed, and refuses unknown jump hosts and loops in overrides", async () => {
    const cases: { reach: SessionOptions["reach"]; error: RegExp }[] = [
      // Nothing listens on port 2 of owrt-1's WAN (fw4 rejects it): the hub cannot open the TCP connection.
      { reach: { "owrt-1": { port: 2 } }, error: /^owrt-2 via owrt-1: cannot reach owrt-1: owrt-1 via hub: .*could not open a TCP connection from there to [0-9.]+:2/ },
      { reach: { "owrt-2": { via: "nope" } }, error: /owrt-2 is to be reached via nope, which is not a host of/ },
      { reach: { hub: { via: "owrt-2" } }, error: /the path to owrt-2 loops: owrt-2 via owrt-1 via hub via owrt-2/ },
    ];
    for (const { reach, error } of cases) {
      const s = session({ reach, connectTimeoutMs: 5_000 });
      const failure = await s.connect(host("owrt-2")).then(() => undefined, (err: Error) => err);
      await s.close();
      expect(failure?.message).toMatch(error);
    }
  });

  it("the first hop goes through the dial hook (a TCP connection made in another namespace)", async () => {
    const children: ChildProcess[] = [];
    const dials: string[] = [];
    // What engineer B's lab.laptop(...).dial will give: a TCP connection that starts inside a namespace of the lab.
    const dial = async (address: string, port: number): Promise<Duplex> => {
      dials.push(`${address}:${port}`);
      const child = spawn("ip", ["netns", "exec", lab.internet.netns, "busybox", "nc", address, String(port)], { stdio: ["pipe", "pipe", "ignore"] });
      children.push(child);
      const stream = Duplex.from({ readable: child.stdout!, writable: child.stdin! });
      stream.on("close", () => child.kill());
      return stream;
    };
    const hub = lab.host("hub");
    const s = session({ dial, reach: { hub: { address: hub.wanAddress } } });
    try {
      // From the internet router's namespace, the hub sees the router's own address on the simulated internet.
      expect(await sourceOf(s, "hub")).toMatch(/^203\.0\.113\.\d+$/);
      expect(await sourceOf(s, "owrt-2")).toBe(lab.host("owrt-1").wanAddress);
      expect(dials).toEqual([`${hub.wanAddress}:22`]);
    } finally {
      await s.close();
    }
    // The dialled stream ends with the session.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && children.some((c) => c.exitCode === null && c.signalCode === null)) await new Promise((r) => setTimeout(r, 100));
    expect(children.every((c) => c.exitCode !== null || c.signalCode !== null)).toBe(true);
  });
});
