// lib/run-lock.ts, one run at a time per inventory: who holds it (user, host, pid, command, since when), a second run
// waiting with that said or refusing naming it, enrollments beside each other, a gone holder taken over, and the table
// left clean by a run that exits on its way.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../../lib/errors.ts";
import { lockOwner, processStart } from "../../lib/lock.ts";
import {
  commandLine,
  defaultWaitMs,
  describeHolder,
  readHolders,
  runLockFile,
  withPlaybookLock,
  withRunLock,
  type RunHolder,
} from "../../lib/run-lock.ts";

const HOLDER = join(import.meta.dirname, "fixtures", "lock", "run-holder.ts");
const inventoryIn = () => join(mkdtempSync(join(tmpdir(), "meshisp-run-lock-")), "hosts.yml");

const until = async (what: string, ok: () => boolean, ms = 30_000) => {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};
const holder = (inventory: string, mode: string, log: string, then: "hold" | "exit"): ChildProcess =>
  spawn(process.execPath, ["--import", "tsx", HOLDER, inventory, mode, log, then], {
    cwd: process.cwd(),
    stdio: "inherit",
  });
const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", (code) => resolve(code)),
  );
/** Held by this process until `release` is called. */
function holdHere(inventory: string, mode: "exclusive" | "shared", command = "tasks/deploy-hub.ts") {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let inside!: () => void;
  const entered = new Promise<void>((r) => (inside = r));
  const done = withRunLock(inventory, { mode, command, waitMs: 0 }, async () => {
    inside();
    await held;
  });
  return { entered, release, done };
}

describe("who holds the run lock", () => {
  const h: RunHolder = {
    ...lockOwner(),
    host: "kitchen-laptop",
    pid: 4242,
    user: "maintainer",
    command: "tasks/deploy-hub.ts -i inventory/pilot/hosts.yml",
    since: "2026-12-02T15:42:10.000Z",
    mode: "exclusive",
  };
  it("says command, user@host, pid, since when and how long", () => {
    expect(describeHolder(h, Date.parse("2026-12-02T15:44:15Z"))).toBe(
      "tasks/deploy-hub.ts -i inventory/pilot/hosts.yml (maintainer@kitchen-laptop, pid 4242), running since 15:42:10 UTC (2 min 5 s)",
    );
    expect(describeHolder(h, Date.parse("2026-12-03T18:00:00Z"))).toMatch(
      /running since 2026-12-02 15:42:10 UTC \(26 h 17 min\)$/,
    );
  });
  it("the command line with its flags, -e values left out", () => {
    const argv = [
      "node",
      "/work/main/tasks/deploy-hub.ts",
      "-i",
      "inv.yml",
      "-e",
      "x=secret",
      "--extra-vars=y=2",
      "--limit",
      "a b",
    ];
    expect(commandLine("tasks/deploy-hub.ts", argv)).toBe(
      'tasks/deploy-hub.ts -i inv.yml -e x=... --extra-vars y=... --limit "a b"',
    );
    // Another process's argv (a test runner calling enrollUplink): only the command.
    expect(commandLine("tasks/enroll-uplink.ts", ["node", "vitest"])).toBe("tasks/enroll-uplink.ts");
  });
  it("MESHISP_RUN_LOCK_WAIT in seconds; 0 refuses at once; anything else is refused", () => {
    expect([defaultWaitMs(undefined), defaultWaitMs("0"), defaultWaitMs("90")]).toEqual([600_000, 0, 90_000]);
    expect(() => defaultWaitMs("five")).toThrow(/MESHISP_RUN_LOCK_WAIT is "five": expected how many seconds/);
  });
});

describe("withRunLock", () => {
  it("holds the table while working (this process named in it) and leaves no file after", async () => {
    const inventory = inventoryIn();
    const inside = await withRunLock(inventory, { mode: "exclusive", command: "tasks/site-base.ts" }, async () =>
      readHolders(runLockFile(inventory)),
    );
    expect(inside).toEqual([
      expect.objectContaining({
        pid: process.pid,
        host: hostname(),
        user: userInfo().username,
        command: "tasks/site-base.ts",
        mode: "exclusive",
      }),
    ]);
    expect(Date.now() - Date.parse(inside[0].since)).toBeLessThan(10_000);
    expect(readdirSync(join(inventory, ".."))).toEqual([]);
  });

  it("a second run refuses at once when told not to wait, naming the holder", async () => {
    const inventory = inventoryIn();
    const first = holdHere(inventory, "exclusive");
    await first.entered;
    const err = await withRunLock(
      inventory,
      { mode: "exclusive", command: "tasks/deploy-hub.ts", waitMs: 0 },
      async () => "ran",
    ).catch((e: Error) => e);
    first.release();
    await first.done;
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(
      new RegExp(
        `^${inventory} is in use by tasks/deploy-hub.ts \\(${userInfo().username}@${hostname()}, pid ${process.pid}\\), running since \\d\\d:\\d\\d:\\d\\d UTC \\([\\d.]+ s\\)$`,
      ),
    );
    expect((err as UserError).hint).toMatch(/run the same command again once that has finished/);
  });

  it("a second run waits, saying for whom, and goes on when the first ends; a bounded wait ends in the holder's name", async () => {
    const inventory = inventoryIn();
    const first = holdHere(inventory, "exclusive");
    await first.entered;
    const lines: string[] = [];
    const order: string[] = [];
    const second = withRunLock(
      inventory,
      { mode: "exclusive", command: "tasks/deploy-hub.ts", waitMs: 20_000, log: (l) => lines.push(l) },
      async () => void order.push("second"),
    );
    await until("the second to say it waits", () => lines.length > 0);
    expect(lines[0]).toMatch(
      /^Waiting for tasks\/deploy-hub.ts \(.*pid \d+\), running since .* to finish \(one run at a time per .*hosts.yml; at most 20 s, MESHISP_RUN_LOCK_WAIT=0 refuses instead\)\.\.\.$/,
    );
    order.push("first");
    first.release();
    await Promise.all([first.done, second]);
    expect(order).toEqual(["first", "second"]);
    expect(lines.at(-1)).toBe(`${inventory} is free: going on.`);

    const again = holdHere(inventory, "exclusive");
    await again.entered;
    const started = Date.now();
    const err = await withRunLock(
      inventory,
      { mode: "shared", command: "tasks/enroll-uplink.ts", waitMs: 300, log: () => undefined },
      async () => "ran",
    ).catch((e: Error) => e);
    again.release();
    await again.done;
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect((err as Error).message).toMatch(/is in use by tasks\/deploy-hub.ts .*; waited 0.3 s$/);
  });

  it("enrollments hold it together; a playbook waits for them, and they for a playbook", async () => {
    const inventory = inventoryIn();
    const a = holdHere(inventory, "shared", "tasks/enroll-uplink.ts");
    const b = holdHere(inventory, "shared", "tasks/enroll-client.ts");
    await Promise.all([a.entered, b.entered]);
    expect(readHolders(runLockFile(inventory)).map((h) => h.command)).toEqual([
      "tasks/enroll-uplink.ts",
      "tasks/enroll-client.ts",
    ]);
    const refused = (mode: "exclusive" | "shared") =>
      withRunLock(inventory, { mode, command: "tasks/deploy-hub.ts", waitMs: 0 }, async () => "ran").catch(
        (e: Error) => e.message,
      );
    expect(await refused("exclusive")).toMatch(/in use by tasks\/enroll-uplink.ts .*; tasks\/enroll-client.ts /);
    a.release();
    b.release();
    await Promise.all([a.done, b.done]);
    const p = holdHere(inventory, "exclusive");
    await p.entered;
    expect(await refused("shared")).toMatch(/in use by tasks\/deploy-hub.ts/);
    p.release();
    await p.done;
  });

  it("takes over from a holder that was killed (SIGKILL: no chance to clean up), saying so", async () => {
    const inventory = inventoryIn();
    const log = join(inventory, "..", "log");
    const child = holder(inventory, "exclusive", log, "hold");
    await until(
      "the child to hold the lock",
      () => existsSync(log) && readFileSync(log, "utf8").includes(`in ${child.pid}`),
    );
    expect(readHolders(runLockFile(inventory)).map((h) => h.pid)).toEqual([child.pid]);
    child.kill("SIGKILL");
    await exited(child);
    const lines: string[] = [];
    const started = Date.now();
    await withRunLock(
      inventory,
      { mode: "exclusive", command: "tasks/deploy-hub.ts", waitMs: 0, log: (l) => lines.push(l) },
      async () => expect(readHolders(runLockFile(inventory)).map((h) => h.pid)).toEqual([process.pid]),
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(lines).toEqual([
      expect.stringMatching(
        new RegExp(`was held by tasks/deploy-hub.ts .*pid ${child.pid}\\), .*, which is gone: taken over\\.$`),
      ),
    ]);
    expect(readdirSync(join(inventory, "..")).sort()).toEqual(["log"]);
  }, 60_000);

  it("a holder from a reused pid (a live process started at another time) is gone too; a damaged table names the file", async () => {
    const inventory = inventoryIn();
    const stale: RunHolder = {
      ...lockOwner(),
      start: "1",
      user: "x",
      command: "tasks/deploy-hub.ts",
      since: new Date().toISOString(),
      mode: "exclusive",
    };
    expect(processStart(process.pid)).not.toBe("1");
    writeFileSync(runLockFile(inventory), JSON.stringify({ holders: [stale] }));
    expect(
      await withRunLock(
        inventory,
        { mode: "exclusive", command: "c", waitMs: 0, log: () => undefined },
        async () => "ran",
      ),
    ).toBe("ran");
    writeFileSync(runLockFile(inventory), "{ not json");
    await expect(
      withRunLock(inventory, { mode: "exclusive", command: "c", waitMs: 0 }, async () => "ran"),
    ).rejects.toThrow(`${runLockFile(inventory)} is not the run lock's table of holders`);
  });

  it("a run that exits on its way (process.exit inside the run) leaves the table clean", async () => {
    const inventory = inventoryIn();
    const log = join(inventory, "..", "log");
    expect(await exited(holder(inventory, "exclusive", log, "exit"))).toBe(3);
    expect(readFileSync(log, "utf8")).toMatch(/^in \d+\n$/);
    expect(readdirSync(join(inventory, ".."))).toEqual(["log"]);
  }, 60_000);

  it("--check takes no lock and writes nothing; it says who is running", async () => {
    const inventory = inventoryIn();
    const first = holdHere(inventory, "exclusive");
    await first.entered;
    const table = readFileSync(runLockFile(inventory), "utf8");
    const said: string[] = [];
    const error = console.error;
    console.error = (line: string) => void said.push(line);
    try {
      expect(await withPlaybookLock(inventory, "tasks/deploy-hub.ts", true, async () => "planned")).toBe("planned");
    } finally {
      console.error = error;
    }
    expect(said).toEqual([
      expect.stringMatching(
        /^Note: tasks\/deploy-hub.ts .* is running against .*: what this check shows may change\.$/,
      ),
    ]);
    expect(readFileSync(runLockFile(inventory), "utf8")).toBe(table);
    first.release();
    await first.done;
  });
});
