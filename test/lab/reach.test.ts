// Connection paths on the pilot's network, where nobody reaches every device: the maintainer's laptop on the kitchen LAN
// reaches the hub there and the routers through it over the mesh (ssh_via); the installer's laptop on one router's LAN
// reaches that router, the hub through it over the mesh and another router through the hub (two jumps). One reused
// connection per jump, closed with the session; a changed key refused behind the jumps; each failing hop named; the
// first hop is always the laptop's own TCP connection (SessionOptions.dial: it starts in the laptop's namespace).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { parseDocument } from "yaml";
import { labUp, type Lab } from "../../scripts/lab/index.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import type { Inventory } from "../../lib/inventory/types.ts";
import { openInventoryCa } from "../../lib/pki/passphrase.ts";
import { Session, type SessionOptions } from "../../lib/runner/session.ts";
import { sh } from "../../lib/command.ts";
import { baseRole } from "../../roles/base/index.ts";
import type { Play } from "../../lib/play.ts";
import { joinMesh, kitchenSession } from "./pilot-join.ts";

const PASSPHRASE = "lab CA passphrase reach";
/** A mesh IP no node has: the hub's Nebula has no tunnel for it and drops what is sent there. */
const UNUSED_MESH_IP = "10.0.4.250";
const play: Play = { name: "base", hosts: ["all"], roles: [baseRole] };
let lab: Lab<"pilot">;
/**
 * The installer's inventory at owrt-1's home: owrt-1 on the LAN the laptop is plugged into (192.168.8.1), the hub at
 * its mesh IP through owrt-1 (the hub's Nebula admits SSH from uplinks), owrt-2 at its mesh IP through the hub.
 */
let home: Inventory;

const host = (name: string, inventory = home) => inventory.hosts.find((h) => h.name === name)!;
const homeSession = (options: SessionOptions = {}) =>
  new Session(home, { output: "silent", dial: lab.installer.dial, connectTimeoutMs: 20_000, ...options });
/** The client address the SSH server saw ($SSH_CONNECTION's first field): which hop the connection came from. */
const sourceOf = async (s: Session, name: string) =>
  (await (await s.connect(host(name, s.inventory))).run(sh`echo $SSH_CONNECTION`)).stdout.trim().split(" ")[0];
/** SSH connections the hub's OpenSSH holds, one line each: "<peer address>:<port>". */
const hubSshPeers = async () =>
  (await lab.host("hub").exec("ss -Htn state established '( sport = :22 )' | awk '{print $4}'")).stdout
    .trim()
    .split("\n")
    .filter(Boolean);
/** SSH connections the installer's laptop holds (to any router). */
const laptopSshConnections = async () =>
  Number((await lab.installer.exec("ss -Htn state established '( dport = :22 )' | wc -l")).stdout.trim());
/** A dial that records what it was asked for and the streams it gave. */
const recording = (dial: (host: string, port: number) => Promise<Duplex>) => {
  const calls: string[] = [];
  const streams: Duplex[] = [];
  return {
    calls,
    streams,
    dial: async (address: string, port: number) => {
      calls.push(`${address}:${port}`);
      const stream = await dial(address, port);
      streams.push(stream);
      return stream;
    },
  };
};
async function until(what: string, test: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await test()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

beforeAll(async () => {
  process.env.MESH_CA_PASSPHRASE = PASSPHRASE;
  lab = await labUp({
    topology: "pilot",
    hosts: [
      { name: "hub", kind: "debian", group: "hub" },
      { name: "owrt-1", kind: "openwrt", group: "uplinks" },
      { name: "owrt-2", kind: "openwrt", release: "23.05", group: "uplinks" },
    ],
  });
  const ca = await openInventoryCa(loadInventory(lab.inventoryPath), { create: true });
  await joinMesh(lab, ca);
  const doc = parseDocument(readFileSync(lab.inventoryPath, "utf8"));
  doc.deleteIn(["groups", "uplinks", "vars", "ssh_via"]);
  doc.setIn(["groups", "uplinks", "hosts", "owrt-1", "address"], lab.host("owrt-1").routerLanAddress);
  doc.setIn(["groups", "uplinks", "hosts", "owrt-2", "vars", "ssh_via"], "hub");
  doc.setIn(["groups", "hub", "hosts", "hub", "address"], lab.host("hub").meshIp);
  doc.setIn(["groups", "hub", "hosts", "hub", "vars", "ssh_via"], "owrt-1");
  const file = join(lab.dir, "home.yml");
  writeFileSync(file, doc.toString({ lineWidth: 0 }));
  home = loadInventory(file);
  await lab.installer.plugInto("owrt-1");
}, 600_000); // three faithful hosts built and booted under a shared CPU, then Nebula installed on each
afterAll(async () => {
  await lab?.down();
});

describe("connection paths on the pilot's network", () => {
  it("the installer reaches another router through two jumps (owrt-1 on its LAN, then the hub over the mesh), one connection per jump, closed with the session", async () => {
    expect([host("hub").via, host("owrt-1").via, host("owrt-2").via]).toEqual(["owrt-1", undefined, "hub"]);
    const kitchen = kitchenSession(lab);
    let t0 = performance.now();
    try {
      await kitchen.connect(host("owrt-2", kitchen.inventory));
    } finally {
      await kitchen.close();
    }
    const oneJumpMs = performance.now() - t0;
    await until("the kitchen's connection to the hub closed", async () => (await hubSshPeers()).length === 0);

    const dial = recording(lab.installer.dial);
    const s = homeSession({ dial: dial.dial });
    try {
      t0 = performance.now();
      await s.connect(host("owrt-2"));
      const twoJumpsMs = performance.now() - t0;
      // owrt-2 saw the hub's mesh IP, the hub saw owrt-1's, owrt-1 saw the laptop: laptop -> owrt-1 -> hub -> owrt-2.
      expect(await sourceOf(s, "owrt-2")).toBe(lab.host("hub").meshIp);
      expect(await sourceOf(s, "hub")).toBe(lab.host("owrt-1").meshIp);
      expect(await sourceOf(s, "owrt-1")).toBe(lab.installer.address);
      // One connection per host: the laptop holds one (to owrt-1), the hub one (from owrt-1), used by the hub and for owrt-2.
      expect(await laptopSshConnections()).toBe(1);
      expect((await hubSshPeers()).map((p) => p.replace(/:\d+$/, ""))).toEqual([lab.host("owrt-1").meshIp]);
      expect(dial.calls).toEqual([`${lab.host("owrt-1").routerLanAddress}:22`]);
      console.log(
        `connect: owrt-2 from the kitchen (laptop -> hub -> owrt-2) ${oneJumpMs.toFixed(0)} ms, from the installer's laptop (-> owrt-1 -> hub -> owrt-2: three handshakes) ${twoJumpsMs.toFixed(0)} ms`,
      );
    } finally {
      await s.close();
    }
    // Closing the session closed the jumps too: nothing of ours is left on the hub's SSH port or on the laptop.
    await until(
      "the session's connections closed",
      async () => (await hubSshPeers()).length === 0 && (await laptopSshConnections()) === 0,
    );
  });

  it("converges every host through the jumps, the second run changes nothing, and the kitchen's path agrees", async () => {
    const converge = async (s: Session) => {
      try {
        return await s.run(play);
      } finally {
        await s.close();
      }
    };
    const first = await converge(homeSession());
    for (const r of first) expect([r.host, r.failed, r.unreachable, r.error]).toEqual([r.host, 0, false, undefined]);
    expect(first.map((r) => r.host)).toEqual(["hub", "owrt-1", "owrt-2"]);
    expect(first.find((r) => r.host === "owrt-2")!.changed).toBeGreaterThan(0);
    const second = await converge(homeSession());
    for (const r of second) expect([r.host, r.changed]).toEqual([r.host, 0]);
    // The same hosts from the kitchen (the hub on its LAN, each router through it): nothing left to change.
    const kitchen = await converge(kitchenSession(lab));
    for (const r of kitchen) expect([r.host, r.failed, r.unreachable, r.changed]).toEqual([r.host, 0, false, 0]);
    expect((await lab.host("owrt-2").exec("cat /etc/meshisp/node.conf")).stdout).toContain("name=owrt-2");
  });

  it("a changed host key behind the jumps is refused, naming the node and the pin, and nothing runs", async () => {
    const pinned = readFileSync(home.knownHosts, "utf8");
    const forged = pinned
      .split("\n")
      .map((l) =>
        l.startsWith("owrt-2 ")
          ? "owrt-2 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
          : l,
      );
    writeFileSync(home.knownHosts, forged.join("\n"));
    try {
      await lab.host("owrt-2").exec("rm -f /etc/meshisp/node.conf");
      const s = homeSession({ limit: "owrt-2" });
      const [recap] = await s.run(play);
      await s.close();
      expect(recap.failed + (recap.unreachable ? 1 : 0)).toBe(1);
      const line = forged.findIndex((l) => l.startsWith("owrt-2 ")) + 1;
      expect(recap.error).toMatch(
        new RegExp(
          `owrt-2 via hub \\(root@${lab.host("owrt-2").meshIp!.replace(/\./g, "\\.")}\\): HOST KEY CHANGED: owrt-2 now presents ssh-ed25519 SHA256:\\S+, but ${home.knownHosts}:${line} pins SHA256:`,
        ),
      );
      expect((await lab.host("owrt-2").exec("test -e /etc/meshisp/node.conf; echo $?")).stdout.trim()).toBe("1");
    } finally {
      writeFileSync(home.knownHosts, pinned);
    }
  });

  it("says which hop failed, gives up on a silent one within the connect timeout, and refuses unknown jump hosts and loops", async () => {
    const hubIp = lab.host("hub").meshIp!.replace(/\./g, "\\.");
    const cases: { reach: SessionOptions["reach"]; error: RegExp }[] = [
      // The laptop's own connection: nothing listens on port 2 of owrt-1's LAN address (fw4's lan zone accepts, the kernel resets).
      {
        reach: { "owrt-1": { port: 2 } },
        error:
          /^owrt-2 via hub: cannot reach hub: hub via owrt-1: cannot reach owrt-1: root@192\.168\.8\.1:2: could not connect: /,
      },
      // owrt-1 cannot open the TCP connection to the hub's port 2 over the mesh.
      {
        reach: { hub: { port: 2 } },
        error: new RegExp(
          `^owrt-2 via hub: cannot reach hub: hub via owrt-1: .*could not open a TCP connection from there to ${hubIp}:2`,
        ),
      },
      // The hub cannot open it to owrt-2's port 2 (fw4 on owrt-2 rejects what the mesh admission does not name).
      {
        reach: { "owrt-2": { port: 2 } },
        error: /^owrt-2 via hub: .*could not open a TCP connection from there to 10\.0\.4\.\d+:2/,
      },
      // Nobody answers at an unused mesh IP (the SYNs vanish in the hub's Nebula): bounded by the connect timeout.
      {
        reach: { "owrt-2": { address: UNUSED_MESH_IP } },
        error: new RegExp(
          `^owrt-2 via hub: could not open a TCP connection from hub to ${UNUSED_MESH_IP.replace(/\./g, "\\.")}:22: no answer within 5000 ms`,
        ),
      },
      { reach: { "owrt-2": { via: "nope" } }, error: /owrt-2 is to be reached via nope, which is not a host of/ },
      {
        reach: { "owrt-1": { via: "owrt-2" } },
        error: /the path to owrt-2 loops: owrt-2 via hub via owrt-1 via owrt-2/,
      },
    ];
    for (const { reach, error } of cases) {
      const s = homeSession({ reach, connectTimeoutMs: 5_000 });
      const t0 = performance.now();
      const failure = await s.connect(host("owrt-2")).then(
        () => undefined,
        (err: Error) => err,
      );
      const ms = performance.now() - t0;
      await s.close();
      expect(failure?.message).toMatch(error);
      expect(ms, failure?.message).toBeLessThan(15_000);
    }
  });

  it("the maintainer's first hop is the kitchen laptop's own connection (the dial hook), to the hub only; the routers come through it", async () => {
    const kitchenLaptop = lab.laptop("kitchen");
    const dial = recording(kitchenLaptop.dial);
    const s = kitchenSession(lab, { dial: dial.dial });
    try {
      // The hub sees the laptop's address on the kitchen LAN; each router sees the hub's mesh IP.
      expect(await sourceOf(s, "hub")).toBe(kitchenLaptop.address);
      expect(await sourceOf(s, "owrt-1")).toBe(lab.host("hub").meshIp);
      expect(await sourceOf(s, "owrt-2")).toBe(lab.host("hub").meshIp);
      expect(dial.calls).toEqual([`${host("hub", s.inventory).address}:22`]);
      expect((await hubSshPeers()).map((p) => p.replace(/:\d+$/, ""))).toEqual([kitchenLaptop.address]);
    } finally {
      await s.close();
    }
    // The dialled stream ends with the session, and so does the hub's side of it.
    await until(
      "the dialled stream and the hub's connection closed",
      async () => dial.streams.every((d) => d.destroyed) && (await hubSshPeers()).length === 0,
    );
  });
});
