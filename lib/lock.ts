// The one lock between processes (the inventory, the CA's register): a lock file with its owner's identity in it.
//
// Node has no flock() without native code, so the lock is a file that exists only while held. It appears whole, by
// link(2) of a claim already written (never empty, never half-written). It is stale only when its owner is provably
// gone: same host and boot, and the pid is not running or runs a process started at another time (a reused pid).
// A stale lock is removed by exactly one process: the one that creates `${file}.break-<nonce>` (O_EXCL) for that lock's
// own nonce, and it re-reads the lock under that claim before it unlinks it. The old code judged "stale" and unlinked
// in two steps: two waiters could both judge, the first unlink and take the lock, and the second unlink the first's
// fresh lock and take it too (two holders). Here nobody but the owner and the one breaker of its nonce removes a lock;
// a breaker that dies holding its break claim leaves a stale claim, broken the same way (a level deeper).
import { randomBytes } from "node:crypto";
import { closeSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { UserError } from "./errors.ts";

export interface LockOwner {
  host: string;
  /** The kernel's boot id ("" where there is no /proc): a pid from another boot is no one now. */
  boot: string;
  pid: number;
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat field 22; "" where unknown). */
  start: string;
  /** Unique to this holding of the lock: names the one claim that may break it. */
  nonce: string;
}

const readOr = (path: string, fallback: string) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return fallback;
  }
};

const BOOT = readOr("/proc/sys/kernel/random/boot_id", "").trim();

/** The start time of process `pid`, "" if there is no such process or no /proc. */
export function processStart(pid: number): string {
  const stat = readOr(`/proc/${pid}/stat`, "");
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
  return stat ? (stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "") : "";
}

const running = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** This process as a lock's owner, with a fresh nonce (one per holding). */
export const lockOwner = (): LockOwner => ({
  host: hostname(),
  boot: BOOT,
  pid: process.pid,
  start: processStart(process.pid),
  nonce: randomBytes(8).toString("hex"),
});

/** What a lock file says of its owner; a bare pid is the format written before (its nonce is its text). */
export function parseOwner(text: string): LockOwner | null {
  if (/^\d+$/.test(text.trim()))
    return { host: hostname(), boot: BOOT, pid: Number(text), start: "", nonce: `pid-${text.trim()}` };
  try {
    const o = JSON.parse(text) as LockOwner;
    return typeof o.pid === "number" && typeof o.nonce === "string" && /^[\w-]+$/.test(o.nonce) ? o : null;
  } catch {
    return null;
  }
}

/**
 * True only when the owner is certainly gone. An owner on another host (a shared disk) or one that cannot be read is
 * never judged gone: waiting then ends in the timeout's error, which says which file to remove.
 */
export function ownerGone(owner: LockOwner | null): boolean {
  if (!owner || owner.host !== hostname()) return false;
  if (owner.boot && BOOT && owner.boot !== BOOT) return true;
  if (!running(owner.pid)) return true;
  return owner.start !== "" && processStart(owner.pid) !== "" && processStart(owner.pid) !== owner.start;
}

/** Creates `file` holding `owner`, whole or not at all; false if it exists. */
function create(file: string, owner: LockOwner): boolean {
  const claim = `${file}.claim-${owner.nonce}`;
  const fd = openSync(claim, "wx", 0o600);
  try {
    writeSync(fd, JSON.stringify(owner));
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(claim, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    unlinkSync(claim);
  }
}

/** The lock's text, or null when there is no lock. */
function read(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** Removes `file` if it still holds the holding `nonce` (the owner's release, or the one breaker's). */
function removeIf(file: string, nonce: string) {
  const text = read(file);
  if (text !== null && parseOwner(text)?.nonce === nonce) unlinkSync(file);
}

/** One attempt: true if we now hold `file`; a gone owner's lock is broken (once, by one process) on the way. */
function tryAcquire(file: string, owner: LockOwner): boolean {
  if (create(file, owner)) return true;
  const text = read(file);
  if (text === null) return create(file, owner);
  const held = parseOwner(text);
  if (!held || !ownerGone(held)) return false;
  const breakFile = `${file}.break-${held.nonce}`;
  const breaker = lockOwner();
  if (!tryAcquire(breakFile, breaker)) return false;
  try {
    // Under the break claim no one else can remove or replace this holding: re-read, then remove it.
    removeIf(file, held.nonce);
  } finally {
    removeIf(breakFile, breaker.nonce);
  }
  return create(file, owner);
}

function timedOut(file: string, timeoutMs: number): UserError {
  const held = parseOwner(read(file) ?? "");
  const who = held ? `process ${held.pid}${held.host === hostname() ? "" : ` on ${held.host}`}` : "an unknown process";
  return new UserError(
    `${file} has been locked by ${who} for ${timeoutMs / 1000} s`,
    "another enrollment or run is using it; try again, or remove the lock if that process is gone",
  );
}

/**
 * As withLock, blocking the thread while it waits: for a few reads and writes of a small file held for microseconds
 * (the run lock's table), and usable in an exit handler, where nothing asynchronous runs any more.
 */
export function withLockSync<T>(file: string, work: () => T, timeoutMs = 10_000): T {
  const deadline = Date.now() + timeoutMs;
  const owner = lockOwner();
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (let wait = 1; !tryAcquire(file, owner); wait = Math.min(wait * 2, 50)) {
    if (Date.now() > deadline) throw timedOut(file, timeoutMs);
    Atomics.wait(nap, 0, 0, wait + Math.random() * wait);
  }
  try {
    return work();
  } finally {
    removeIf(file, owner.nonce);
  }
}

/** Runs `work` while holding `file`; waits (jittered back-off) up to `timeoutMs` for a live holder. */
export async function withLock<T>(file: string, work: () => T | Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const owner = lockOwner();
  for (let wait = 5; !tryAcquire(file, owner); wait = Math.min(wait * 2, 200)) {
    if (Date.now() > deadline) throw timedOut(file, timeoutMs);
    await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
  }
  try {
    return await work();
  } finally {
    removeIf(file, owner.nonce);
  }
}
