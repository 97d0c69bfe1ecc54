// lib/lock.ts, the one lock between processes: who counts as gone, a dead owner's lock taken over, and two processes
// racing for one stale lock (only one holds it at a time).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../../lib/errors.ts";
import { ownerGone, parseOwner, processStart, withLock, type LockOwner } from "../../lib/lock.ts";

const HOLDER = join(import.meta.dirname, "fixtures", "lock", "holder.ts");
const tempDir = () => mkdtempSync(join(tmpdir(), "meshisp-lock-"));
const BOOT = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();

/** The pid of a process that has exited (and its start time while it ran). */
const deadProcess = () =>
  new Promise<{ pid: number; start: string }>((resolve) => {
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 100000)"]);
    child.once("spawn", () => {
      const start = processStart(child.pid!);
      child.once("exit", () => resolve({ pid: child.pid!, start }));
      child.kill("SIGKILL");
    });
  });

const until = async (what: string, ok: () => boolean, ms = 20_000) => {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};
const holder = (lock: string, log: string, go: string, holdMs: number): ChildProcess =>
  spawn(process.execPath, ["--import", "tsx", HOLDER, lock, log, go, String(holdMs)], {
    cwd: process.cwd(),
    stdio: ["inherit", "inherit", "inherit", "ipc"],
  });
/** Resolves once the holder has started and is waiting for `go` (it says so over IPC). */
const started = (child: ChildProcess) => new Promise<void>((resolve) => child.once("message", () => resolve()));
const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", (code) => resolve(code)),
  );

describe("who holds a lock", async () => {
  const dead = await deadProcess();
  const self = (o: Partial<LockOwner>): string =>
    JSON.stringify({
      host: hostname(),
      boot: BOOT,
      pid: process.pid,
      start: processStart(process.pid),
      nonce: "n1",
      ...o,
    });
  it.each([
    ["this live process", self({}), false],
    ["a process that has exited", self({ pid: dead.pid, start: dead.start }), true],
    ["a live pid started at another time (a reused pid)", self({ start: "1" }), true],
    ["a pid from another boot", self({ boot: "00000000-0000-0000-0000-000000000000" }), true],
    ["a process on another host (a shared disk: cannot tell)", self({ host: "elsewhere", pid: dead.pid }), false],
    ["the old format, a bare live pid", String(process.pid), false],
    ["the old format, a bare dead pid", String(dead.pid), true],
    ["text that is no owner (never judged gone)", "garbage", false],
  ])("%s: gone = %s", (_what, text, gone) => {
    expect(ownerGone(parseOwner(text))).toBe(gone);
  });
});

describe("withLock", () => {
  it("holds the file while working, with our pid in it, and removes it after", async () => {
    const lock = join(tempDir(), "x.lock");
    const inside = await withLock(lock, () => parseOwner(readFileSync(lock, "utf8")));
    expect(inside?.pid).toBe(process.pid);
    expect(existsSync(lock)).toBe(false);
  });

  it("runs holders one after the other in one process", async () => {
    const lock = join(tempDir(), "y.lock");
    const order: string[] = [];
    const first = withLock(lock, async () => {
      await new Promise((r) => setTimeout(r, 50));
      order.push("first");
    });
    const second = withLock(lock, () => void order.push("second"));
    await Promise.all([first, second]);
    expect(order).toEqual(["first", "second"]);
  });

  it("times out on a live holder with a UserError naming the file and the process", async () => {
    const lock = join(tempDir(), "z.lock");
    writeFileSync(lock, String(process.pid));
    const err = await withLock(lock, () => "never", 150).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(`${lock} has been locked by process ${process.pid} for 0.15 s`);
  });

  it("takes over the lock of an owner that was killed while holding it", async () => {
    const dir = tempDir();
    const [lock, log] = [join(dir, "k.lock"), join(dir, "log")];
    const child = holder(lock, log, "-", -1);
    await until(
      "the child to hold the lock",
      () => existsSync(log) && readFileSync(log, "utf8").includes(`in ${child.pid}`),
    );
    expect(parseOwner(readFileSync(lock, "utf8"))?.pid).toBe(child.pid);
    child.kill("SIGKILL");
    await exited(child);
    const started = Date.now();
    expect(await withLock(lock, () => parseOwner(readFileSync(lock, "utf8"))?.pid, 5_000)).toBe(process.pid);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(readdirSync(dir).sort()).toEqual(["log"]);
  }, 30_000);

  it("two processes racing on one stale lock: one holds it at a time, both get it in turn", async () => {
    const dead = await deadProcess();
    // Several rounds: each starts both racers at one instant (the go file) on a lock left by a dead process.
    for (let round = 0; round < 4; round++) {
      const dir = tempDir();
      const [lock, log, go] = [join(dir, "r.lock"), join(dir, "log"), join(dir, "go")];
      writeFileSync(
        lock,
        JSON.stringify({ host: hostname(), boot: BOOT, pid: dead.pid, start: dead.start, nonce: `stale${round}` }),
      );
      const racers = [holder(lock, log, go, 150), holder(lock, log, go, 150)];
      // Both started (tsx takes a while) before they race.
      await Promise.all(racers.map(started));
      writeFileSync(go, "");
      expect(await Promise.all(racers.map(exited))).toEqual([0, 0]);
      const lines = readFileSync(log, "utf8").trim().split("\n");
      // in A, out A, in B, out B: never two "in" before an "out".
      expect(lines.map((l) => l.split(" ")[0])).toEqual(["in", "out", "in", "out"]);
      expect(lines[0].split(" ")[1]).toBe(lines[1].split(" ")[1]);
      expect(readdirSync(dir).sort()).toEqual(["go", "log"]);
    }
  }, 60_000);
});
