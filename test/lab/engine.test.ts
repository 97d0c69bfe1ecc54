// The engine against real lab hosts (dropbear + BusyBox, OpenSSH + Debian) on the pilot's network, run where people sit:
// factory-fresh routers from the installer's laptop on their LAN; then, once they are on the mesh, everything from the
// maintainer's laptop on the kitchen LAN (the hub there, the routers through it). Converge twice, check, a radio link
// cut during a file put, unreachable nodes, host keys, the playbook's command line in the kitchen laptop's namespace.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { labUp, type Lab } from "../../scripts/lab/index.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import { openInventoryCa } from "../../lib/pki/passphrase.ts";
import { Session, type SessionOptions } from "../../lib/runner/session.ts";
import { exitCode } from "../../lib/runner/report.ts";
import { sh } from "../../lib/command.ts";
import { baseRole } from "../../roles/base/index.ts";
import type { Inventory } from "../../lib/inventory/types.ts";
import type { Play } from "../../lib/play.ts";
import { HOSTILE } from "../hostile.ts";
import { packages } from "../../lib/resources/package.ts";
import type { Resource } from "../../lib/resources/resource.ts";
import { linksFact } from "../../roles/routing/ip-facts.ts";
import { routingOsVars } from "../../roles/routing/os.ts";
import { joinMesh, untilKitchenReaches, type PilotCa } from "./pilot-join.ts";
import { waitFor } from "../helpers/poll.ts";

const PASSPHRASE = "lab CA passphrase engine";
/** A mesh IP no node has: the hub's Nebula has no tunnel for it and drops what is sent there. */
const UNUSED_MESH_IP = "10.0.4.250";
const play: Play = { name: "base", hosts: ["all"], roles: [baseRole] };
let lab: Lab<"pilot">;
let ca: PilotCa;
let inventory: Inventory;

/** A run from the kitchen laptop unless the options say otherwise (the installer's dial and reach). */
const converge = async (options: SessionOptions = {}, inv = inventory, p = play) => {
  const session = new Session(inv, { output: "silent", dial: lab.laptop("kitchen").dial, ...options });
  try {
    const recaps = await session.run(p);
    return { recaps, session, events: session.reporter.events };
  } finally {
    await session.close();
  }
};
const hostOf = (name: string) => inventory.hosts.find((h) => h.name === name)!;

beforeAll(async () => {
  process.env.MESH_CA_PASSPHRASE = PASSPHRASE;
  lab = await labUp({
    topology: "pilot",
    hosts: [
      { name: "deb-1", kind: "debian", group: "hub" },
      { name: "owrt-1", kind: "openwrt", release: "23.05", group: "uplinks" },
      { name: "owrt-2", kind: "openwrt", group: "uplinks" },
    ],
  });
  inventory = loadInventory(lab.inventoryPath);
  ca = await openInventoryCa(inventory, { create: true });
}, 600_000); // three faithful hosts built and booted under a shared CPU
afterAll(async () => {
  await lab?.down();
});

describe("a factory-fresh router, from the installer's laptop on its LAN", () => {
  it("23.05 and 24.10: ip-full is installed first, and what needs ip -j is planned after it, in the same run", async () => {
    const routers = ["owrt-1", "owrt-2"];
    const links = ["mx0", "mx1"];
    const ensureLinks: Resource = {
      name: "Ensure IFB links mx0, mx1",
      facts: [linksFact],
      notify: ["note links"],
      plan(read) {
        const missing = links.filter((l) => !read(linksFact).has(l));
        return missing.length
          ? {
              commands: missing.map((l) => sh`ip link add name ${l} type ifb`),
              summary: `create ${missing.join(", ")}`,
            }
          : null;
      },
    };
    const phased: Play = {
      name: "phases",
      hosts: ["uplinks"],
      roles: [
        {
          name: "phases",
          defaults: {},
          tasks: (ctx) => [
            packages({
              names: routingOsVars(ctx.facts).routing_packages.filter((p) => p.startsWith("ip-")),
              os: ctx.os,
              notify: ["note links"],
            }),
            ensureLinks,
          ],
          handlers: () => [{ name: "note links", command: sh`echo ran >> /tmp/note-links` }],
        },
      ],
    };
    for (const name of routers) {
      const h = lab.host(name);
      // BusyBox's ip refuses -j; a link made with it exists before the run: only a plan made after ip-full is installed sees it.
      expect((await h.exec("ip -j link show dev lo >/dev/null 2>&1; echo $?")).stdout.trim()).not.toBe("0");
      await h.exec("ip link add name mx0 type ifb");
      await lab.installer.plugInto(name);
      try {
        // The router at 192.168.8.1 on the LAN the laptop is plugged into, whatever the inventory says (it is on no mesh yet).
        const installer: SessionOptions = {
          dial: lab.laptop("installer").dial,
          limit: name,
          reach: { [name]: { address: h.routerLanAddress!, via: null } },
        };
        const check = await converge({ ...installer, check: true }, inventory, phased);
        expect(check.recaps.map((r) => r.host)).toEqual([name]);
        for (const r of check.recaps) expect(r, r.error).toMatchObject({ failed: 0, changed: 2 });
        expect(check.events.filter((e) => e.task === "Ensure IFB links mx0, mx1").map((e) => e.summary)).toEqual([
          "create mx0, mx1",
        ]);

        const first = await converge(installer, inventory, phased);
        for (const r of first.recaps) {
          expect(r.failed, r.error).toBe(0);
          expect(
            first.events
              .filter((e) => e.host === r.host && e.status === "changed")
              .map((e) => `${e.task}: ${e.summary}`),
          ).toEqual([
            "Install ip-full: install ip-full",
            "Ensure IFB links mx0, mx1: create mx1",
            "handler: note links: ran",
          ]);
          // identify + gather in one trip (lib/runner/first-gather.ts), install, again one (guessed from the first), apply.
          expect(r.roundTrips).toBe(4);
        }
        const second = await converge(installer, inventory, phased);
        for (const r of second.recaps) expect(r, r.error).toMatchObject({ failed: 0, changed: 0, roundTrips: 1 });
      } finally {
        await lab.installer.unplug();
      }
      expect((await h.exec("cat /tmp/note-links; test -e /etc/meshisp/pending-handlers; echo $?")).stdout).toBe(
        "ran\n1\n",
      );
    }
  });
});

describe("engine from the kitchen, over the mesh", () => {
  beforeAll(async () => {
    // The hub from the kitchen, each router from the installer's laptop on its LAN: Nebula, and fw4's admission of the
    // hub on nebula1; no base role (the tests below are its first runs).
    await joinMesh(lab, ca);
    inventory = loadInventory(lab.inventoryPath);
  }, 600_000);

  it("check mode reports changes and changes nothing", async () => {
    const { recaps, events } = await converge({ check: true, diff: true });
    expect(recaps.map((r) => r.host)).toEqual(["deb-1", "owrt-1", "owrt-2"]);
    for (const r of recaps) {
      expect(r.failed, r.error).toBe(0);
      expect(r.changed).toBeGreaterThan(0);
    }
    expect(events.some((e) => e.task === "Write /etc/meshisp/node.conf" && e.diff?.includes("+name=owrt-1"))).toBe(
      true,
    );
    for (const h of lab.hosts)
      expect((await h.exec("test -e /etc/meshisp/node.conf; echo $?")).stdout.trim()).toBe("1");
  });

  it("converges both host kinds, and the second run changes nothing", async () => {
    const first = await converge();
    for (const r of first.recaps) {
      expect(r.failed, r.error).toBe(0);
      expect(r.unreachable).toBe(false);
      expect(r.changed).toBeGreaterThan(0);
    }
    expect(
      first.events.filter((e) => e.task === "handler: reload node identity" && e.status === "changed"),
    ).toHaveLength(3);
    const second = await converge();
    for (const r of second.recaps) {
      expect(
        r.changed,
        `${r.host} changed on the second run: ${second.events.filter((e) => e.host === r.host && e.status !== "ok").map((e) => e.task)}`,
      ).toBe(0);
      // One: this run guesses each host from what the first run found (same inventory, same process).
      expect(r.roundTrips).toBe(1);
    }
    for (const h of lab.hosts) {
      expect((await h.exec("cat /proc/sys/kernel/hostname")).stdout.trim()).toBe(h.name);
      expect((await h.exec("cat /proc/sys/net/ipv4/ip_forward")).stdout.trim()).toBe("1");
      expect((await h.exec("cat /etc/meshisp/node.conf")).stdout).toContain(`name=${h.name}`);
    }
    expect((await lab.host("owrt-1").exec("cat /etc/banner")).stdout).toContain("owrt-1");
  });

  it("a pending handler survives a failed run and runs on the next", async () => {
    const h = lab.host("owrt-1");
    // Change node.conf's input, and make the handler's target unwritable so the handler fails.
    await h.exec("rm -f /etc/meshisp/node.conf.applied && mkdir /etc/meshisp/node.conf.applied");
    const failing = await converge({ limit: "owrt-1", extraVars: { base_contact: "changed contact" } });
    expect(failing.recaps[0].failed).toBe(1);
    expect((await h.exec("cat /etc/meshisp/pending-handlers")).stdout).toContain("reload node identity");
    await h.exec("rmdir /etc/meshisp/node.conf.applied");
    const next = await converge({ limit: "owrt-1", extraVars: { base_contact: "changed contact" } });
    expect(next.recaps[0].failed, next.recaps[0].error).toBe(0);
    expect(next.events.some((e) => e.task === "handler: reload node identity" && e.status === "changed")).toBe(true);
    expect(
      (
        await h.exec("test -s /etc/meshisp/node.conf.applied && test ! -e /etc/meshisp/pending-handlers; echo $?")
      ).stdout.trim(),
    ).toBe("0");
    // Back to the inventory's value, then quiet.
    await converge({ limit: "owrt-1" });
    expect((await converge({ limit: "owrt-1" })).recaps[0].changed).toBe(0);
  });

  it("--tags selects tasks by role name or tag, and --check shows only those", async () => {
    await lab.host("deb-1").exec("rm -f /etc/motd");
    const none = await converge({ check: true, tags: ["nebula"] });
    for (const r of none.recaps) expect([r.changed, r.ok, r.skipped > 0]).toEqual([0, 0, true]);
    const some = await converge({ check: true, tags: ["base"], limit: "deb-1" });
    expect(some.recaps[0].changed).toBe(1);
    expect(some.events.find((e) => e.status === "changed")?.task).toBe("Write /etc/motd");
    expect((await converge({ limit: "deb-1" })).recaps[0].changed).toBe(1);
    expect((await converge({ limit: "deb-1" })).recaps[0].changed).toBe(0);
  });

  it("hostile values reach a real remote shell unchanged, on both kinds (the hub on the kitchen LAN, a router through it)", async () => {
    const session = new Session(inventory, { output: "silent", dial: lab.laptop("kitchen").dial });
    try {
      for (const name of ["deb-1", "owrt-1"]) {
        const t = await session.connect(hostOf(name));
        for (const value of HOSTILE) {
          const r = await t.run(sh`printf '%s' ${value}`);
          expect(r.stdout).toBe(value);
          await t.put("/tmp/hostile", value);
          expect((await t.get("/tmp/hostile")).toString()).toBe(value);
        }
        expect((await t.run(sh`test -e /tmp/pwned; echo $?`)).stdout.trim()).toBe("1");
        expect(t.roundTrips).toBeGreaterThan(HOSTILE.length);
      }
    } finally {
      await session.close();
    }
  });

  it("the radio link cut during a file put leaves the old file, and a re-run converges", async () => {
    const h = lab.host("owrt-1");
    await h.exec("echo old > /etc/meshisp/big.bin");
    const big = Buffer.alloc(24 * 1024 * 1024, 7);
    const session = new Session(inventory, { output: "silent", dial: lab.laptop("kitchen").dial });
    let cutMs = 0;
    try {
      const t = await session.connect(hostOf("owrt-1"));
      const put = t.put("/etc/meshisp/big.bin", big).catch((e: Error) => e);
      // Cut once the remote temp file has started to grow: the NanoStation loses its link mid-transfer.
      await waitFor(
        "the remote temp file to grow",
        async () => Number((await h.exec("cat /etc/meshisp/.big.bin.meshisp-* 2>/dev/null | wc -c")).stdout.trim()) > 0,
        { timeoutMs: 20_000, everyMs: 20 },
      );
      await h.cutRadio();
      const t0 = performance.now();
      const outcome = await put;
      cutMs = performance.now() - t0;
      // The runner notices the silent link by its keepalives (no reset ever comes over a dead radio).
      expect(outcome, "the put finished before the cut").toBeInstanceOf(Error);
      expect((await h.exec("cat /etc/meshisp/big.bin")).stdout).toBe("old\n");
    } finally {
      await h.restoreRadio();
      await session.close();
    }
    console.log(`radio cut during a 24 MiB put: the put failed ${cutMs.toFixed(0)} ms after the cut`);
    // Once the link is back the same put goes through, and the host converges with nothing to change.
    await untilKitchenReaches(lab, "owrt-1");
    const again = new Session(inventory, { output: "silent", dial: lab.laptop("kitchen").dial });
    try {
      await (await again.connect(hostOf("owrt-1"))).put("/etc/meshisp/big.bin", big);
    } finally {
      await again.close();
    }
    expect((await h.exec("wc -c < /etc/meshisp/big.bin")).stdout.trim()).toBe(String(big.length));
    const rerun = await converge({ limit: "owrt-1" });
    expect(
      [rerun.recaps[0].failed, rerun.recaps[0].unreachable, rerun.recaps[0].changed],
      rerun.recaps[0].error,
    ).toEqual([0, false, 0]);
  });

  it("a changed host key is refused with the fingerprint, and nothing runs", async () => {
    const pinned = readFileSync(inventory.knownHosts, "utf8");
    const forged = pinned
      .split("\n")
      .map((l) =>
        l.startsWith("deb-1 ")
          ? "deb-1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
          : l,
      )
      .join("\n");
    writeFileSync(inventory.knownHosts, forged);
    try {
      await lab.host("deb-1").exec("rm -f /etc/motd");
      const { recaps } = await converge({ limit: "deb-1" });
      expect(recaps[0].failed).toBe(1);
      expect(recaps[0].error).toMatch(/HOST KEY CHANGED: deb-1 now presents .*SHA256:.*known_hosts:\d+ pins SHA256:/);
      expect(exitCode(recaps)).toBe(2);
      expect((await lab.host("deb-1").exec("test -e /etc/motd; echo $?")).stdout.trim()).toBe("1");
    } finally {
      writeFileSync(inventory.knownHosts, pinned);
    }
  });

  it("unreachable nodes (a router whose radio link is down, a host at an unused mesh IP) give exit 4 while the others converge", async () => {
    const ghost = {
      ...hostOf("owrt-2"),
      name: "ghost",
      address: UNUSED_MESH_IP,
      meshIp: UNUSED_MESH_IP,
      source: "test",
    };
    const withGhost: Inventory = {
      ...inventory,
      hosts: [...inventory.hosts, ghost],
      groups: { ...inventory.groups, uplinks: [...inventory.groups.uplinks, "ghost"] },
    };
    await lab.host("deb-1").exec("rm -f /etc/motd");
    await lab.host("owrt-2").cutRadio();
    try {
      const t0 = performance.now();
      const { recaps } = await converge({ connectTimeoutMs: 5_000 }, withGhost);
      const ms = performance.now() - t0;
      for (const name of ["ghost", "owrt-2"]) {
        const r = recaps.find((x) => x.host === name)!;
        expect(r.unreachable, `${name}: ${r.error}`).toBe(true);
        // The hub's TCP connect to a silent mesh address is given up after the connect timeout (not the kernel's minutes).
        expect(r.error).toMatch(
          new RegExp(
            `^${name} via deb-1: could not open a TCP connection from deb-1 to 10\\.0\\.4\\.\\d+:22: no answer within 5000 ms`,
          ),
        );
      }
      expect(
        recaps.filter((r) => r.host !== "ghost" && r.host !== "owrt-2").every((r) => r.failed === 0 && !r.unreachable),
      ).toBe(true);
      expect(recaps.find((r) => r.host === "deb-1")!.changed).toBe(1);
      expect(exitCode(recaps)).toBe(4);
      expect(ms).toBeLessThan(30_000);
    } finally {
      await lab.host("owrt-2").restoreRadio();
    }
    await untilKitchenReaches(lab, "owrt-2");
    expect((await converge()).recaps.map((r) => [r.host, r.failed, r.unreachable, r.changed])).toEqual([
      ["deb-1", 0, false, 0],
      ["owrt-1", 0, false, 0],
      ["owrt-2", 0, false, 0],
    ]);
  });

  it("the playbook's command line works end to end from the kitchen laptop's namespace, with --check and exit codes", async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number; out: string }>((resolve) =>
        execFile(
          "ip",
          [
            "netns",
            "exec",
            lab.laptop("kitchen").netns,
            "npx",
            "tsx",
            "tasks/site-base.ts",
            "-i",
            lab.inventoryPath,
            ...args,
          ],
          { encoding: "utf8" },
          (err, stdout, stderr) =>
            resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, out: stdout + stderr }),
        ),
      );
    await lab.host("deb-1").exec("rm -f /etc/motd");
    const check = await run(["--check"]);
    expect(check.code, check.out).toBe(0);
    expect(check.out).toMatch(/deb-1\s+ok=\d+\s+changed=1/);
    expect(check.out).toMatch(/owrt-2\s+ok=\d+\s+changed=0/);
    expect((await lab.host("deb-1").exec("test -e /etc/motd; echo $?")).stdout.trim()).toBe("1");
    const first = await run([]);
    expect(first.code, first.out).toBe(0);
    expect(first.out).toMatch(/deb-1\s+ok=\d+\s+changed=1/);
    const second = await run([]);
    expect(second.code, second.out).toBe(0);
    for (const name of ["deb-1", "owrt-1", "owrt-2"])
      expect(second.out).toMatch(new RegExp(`${name}\\s+ok=\\d+\\s+changed=0`));
    const bad = await run(["--limit", "nosuchhost"]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/nosuchhost/);
    expect(bad.out).not.toMatch(/at .*\.ts:\d+/);
    expect(existsSync(lab.inventoryPath)).toBe(true);
  });
});
