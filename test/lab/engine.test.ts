// The engine against real lab hosts (dropbear + BusyBox, OpenSSH + Debian): converge twice, check, cut, unreachable, host keys.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { labUp, type Lab } from "../../scripts/lab/index.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import { Session } from "../../lib/runner/session.ts";
import { exitCode } from "../../lib/runner/report.ts";
import { SshTransport } from "../../lib/transport/ssh.ts";
import { sh } from "../../lib/command.ts";
import { baseRole } from "../../roles/base/index.ts";
import type { Inventory } from "../../lib/inventory/types.ts";
import type { Play } from "../../lib/play.ts";
import { HOSTILE } from "../hostile.ts";
import { packages } from "../../lib/resources/package.ts";
import type { Resource } from "../../lib/resources/resource.ts";
import { linksFact } from "../../roles/routing/ip-facts.ts";
import { routingOsVars } from "../../roles/routing/os.ts";

const play: Play = { name: "base", hosts: ["all"], roles: [baseRole] };
let lab: Lab;
let inventory: Inventory;

const converge = async (options: ConstructorParameters<typeof Session>[1] = {}, inv = inventory, p = play) => {
  const session = new Session(inv, { output: "silent", ...options });
  const recaps = await session.run(p);
  await session.close();
  return { recaps, session, events: session.reporter.events };
};

beforeAll(async () => {
  lab = await labUp({
    hosts: [
      { name: "deb-1", kind: "debian", group: "hub" },
      { name: "owrt-1", kind: "openwrt", release: "23.05", group: "uplinks" },
      { name: "owrt-2", kind: "openwrt", group: "uplinks", home: {} },
    ],
  });
  inventory = loadInventory(lab.inventoryPath);
});
afterAll(async () => {
  await lab?.down();
});

describe("engine on lab hosts", () => {
  it("check mode reports changes and changes nothing", async () => {
    const { recaps, events } = await converge({ check: true, diff: true });
    for (const r of recaps) {
      expect(r.failed, r.error).toBe(0);
      expect(r.changed).toBeGreaterThan(0);
    }
    expect(events.some((e) => e.task === "Write /etc/meshisp/node.conf" && e.diff?.includes("+name=owrt-1"))).toBe(true);
    for (const h of lab.hosts) expect((await h.exec("test -e /etc/meshisp/node.conf; echo $?")).stdout.trim()).toBe("1");
  });

  it("converges both host kinds, and the second run changes nothing", async () => {
    const first = await converge();
    for (const r of first.recaps) {
      expect(r.failed, r.error).toBe(0);
      expect(r.unreachable).toBe(false);
      expect(r.changed).toBeGreaterThan(0);
    }
    expect(first.events.filter((e) => e.task === "handler: reload node identity" && e.status === "changed")).toHaveLength(3);
    const second = await converge();
    for (const r of second.recaps) {
      expect(r.changed, `${r.host} changed on the second run: ${second.events.filter((e) => e.host === r.host && e.status !== "ok").map((e) => e.task)}`).toBe(0);
      expect(r.roundTrips).toBeLessThanOrEqual(2);
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
    expect((await h.exec("test -s /etc/meshisp/node.conf.applied && test ! -e /etc/meshisp/pending-handlers; echo $?")).stdout.trim()).toBe("0");
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
    await converge({ limit: "deb-1" });
  });

  it("hostile values reach a real remote shell unchanged, on both kinds", async () => {
    for (const name of ["deb-1", "owrt-1"]) {
      const host = inventory.hosts.find((h) => h.name === name)!;
      const t = await SshTransport.connect({ host: host.address, port: host.port, keyFile: inventory.sshKey, knownHostsFile: inventory.knownHosts, pinName: host.name });
      try {
        for (const value of HOSTILE) {
          const r = await t.run(sh`printf '%s' ${value}`);
          expect(r.stdout).toBe(value);
          await t.put("/tmp/hostile", value);
          expect((await t.get("/tmp/hostile")).toString()).toBe(value);
        }
        expect((await t.run(sh`test -e /tmp/pwned; echo $?`)).stdout.trim()).toBe("1");
        expect(t.roundTrips).toBeGreaterThan(HOSTILE.length);
      } finally {
        await t.close();
      }
    }
  });

  it("a connection cut during a file put leaves the old file, and a re-run converges", async () => {
    const host = inventory.hosts.find((h) => h.name === "owrt-1")!;
    const h = lab.host("owrt-1");
    await h.exec("echo old > /etc/meshisp/big.bin");
    const t = await SshTransport.connect({ host: host.address, port: host.port, keyFile: inventory.sshKey, knownHostsFile: inventory.knownHosts, pinName: host.name });
    const big = Buffer.alloc(24 * 1024 * 1024, 7);
    const put = t.put("/etc/meshisp/big.bin", big).catch((e: Error) => e);
    // Cut once the remote temp file has started to grow.
    for (let i = 0; i < 200; i++) {
      const size = (await h.exec("cat /etc/meshisp/.big.bin.meshisp-* 2>/dev/null | wc -c")).stdout.trim();
      if (Number(size) > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    t.destroy();
    expect(await put).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 300));
    expect((await h.exec("cat /etc/meshisp/big.bin")).stdout).toBe("old\n");
    // The same holds for the apply script: cut a converge that writes a big file, then re-run.
    const t2 = await SshTransport.connect({ host: host.address, port: host.port, keyFile: inventory.sshKey, knownHostsFile: inventory.knownHosts, pinName: host.name });
    await t2.put("/etc/meshisp/big.bin", big);
    expect((await h.exec("wc -c < /etc/meshisp/big.bin")).stdout.trim()).toBe(String(big.length));
    await t2.close();
    expect((await converge({ limit: "owrt-1" })).recaps[0].changed).toBe(0);
  });

  it("a changed host key is refused with the fingerprint, and nothing runs", async () => {
    const pinned = readFileSync(inventory.knownHosts, "utf8");
    const host = inventory.hosts.find((h) => h.name === "deb-1")!;
    const forged = pinned
      .split("\n")
      .map((l) => (l.startsWith(`${host.name} `) ? `${host.name} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl` : l))
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

  it("an unreachable host gives exit 4 while the others converge", async () => {
    const ghost = { ...inventory.hosts[0], name: "ghost", address: lab.hosts[0].mgmtAddress.replace(/\.\d+$/, ".250"), source: "test" };
    const withGhost: Inventory = { ...inventory, hosts: [...inventory.hosts, ghost], groups: { ...inventory.groups, hub: [...inventory.groups.hub, "ghost"] } };
    await lab.host("deb-1").exec("rm -f /etc/motd");
    const { recaps } = await converge({ connectTimeoutMs: 3_000 }, withGhost);
    expect(recaps.find((r) => r.host === "ghost")!.unreachable).toBe(true);
    expect(recaps.filter((r) => r.host !== "ghost").every((r) => r.failed === 0 && !r.unreachable)).toBe(true);
    expect(recaps.find((r) => r.host === "deb-1")!.changed).toBe(1);
    expect(exitCode(recaps)).toBe(4);
  });

  it("a factory-fresh router (23.05 and 24.10): ip-full is installed first, and what needs ip -j is planned after it, in the same run", async () => {
    const routers = ["owrt-1", "owrt-2"];
    for (const name of routers) {
      const h = lab.host(name);
      // BusyBox's ip refuses -j; a link made with it exists before the run: only a plan made after ip-full is installed sees it.
      expect((await h.exec("ip -j link show dev lo >/dev/null 2>&1; echo $?")).stdout.trim()).not.toBe("0");
      await h.exec("ip link add name mx0 type ifb");
    }
    const links = ["mx0", "mx1"];
    const ensureLinks: Resource = {
      name: "Ensure IFB links mx0, mx1",
      facts: [linksFact],
      notify: ["note links"],
      plan(read) {
        const missing = links.filter((l) => !read(linksFact).has(l));
        return missing.length ? { commands: missing.map((l) => sh`ip link add name ${l} type ifb`), summary: `create ${missing.join(", ")}` } : null;
      },
    };
    const phased: Play = {
      name: "phases",
      hosts: ["uplinks"],
      roles: [
        {
          name: "phases",
          defaults: {},
          tasks: (ctx) => [packages({ names: routingOsVars(ctx.facts).routing_packages.filter((p) => p.startsWith("ip-")), os: ctx.os, notify: ["note links"] }), ensureLinks],
          handlers: () => [{ name: "note links", command: sh`echo ran >> /tmp/note-links` }],
        },
      ],
    };
    const check = await converge({ check: true }, inventory, phased);
    for (const r of check.recaps) expect(r, r.error).toMatchObject({ failed: 0, changed: 2 });
    expect(check.events.filter((e) => e.task === "Ensure IFB links mx0, mx1").map((e) => e.summary)).toEqual(["create mx0, mx1", "create mx0, mx1"]);

    const first = await converge({}, inventory, phased);
    for (const r of first.recaps) {
      expect(r.failed, r.error).toBe(0);
      expect(first.events.filter((e) => e.host === r.host && e.status === "changed").map((e) => `${e.task}: ${e.summary}`)).toEqual(["Install ip-full: install ip-full", "Ensure IFB links mx0, mx1: create mx1", "handler: note links: ran"]);
      expect(r.roundTrips).toBe(6);
    }
    const second = await converge({}, inventory, phased);
    for (const r of second.recaps) expect(r, r.error).toMatchObject({ failed: 0, changed: 0, roundTrips: 2 });
    for (const name of routers) {
      expect((await lab.host(name).exec("cat /tmp/note-links; test -e /etc/meshisp/pending-handlers; echo $?")).stdout).toBe("ran\n1\n");
    }
  });

  it("the playbook's command line works end to end, with --check and exit codes", () => {
    const run = (args: string[]) => {
      try {
        return { code: 0, out: execFileSync("npx", ["tsx", "tasks/site-base.ts", "-i", lab.inventoryPath, ...args], { encoding: "utf8", stdio: "pipe" }) };
      } catch (e) {
        const err = e as { status: number; stdout: string; stderr: string };
        return { code: err.status, out: err.stdout + err.stderr };
      }
    };
    const ok = run([]);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toMatch(/owrt-2\s+ok=\d+\s+changed=0/);
    const bad = run(["--limit", "nosuchhost"]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/nosuchhost/);
    expect(bad.out).not.toMatch(/at .*\.ts:\d+/);
    expect(existsSync(lab.inventoryPath)).toBe(true);
  });
});
