// An exclusive lock file (O_EXCL) with retries, safe between processes: a dead owner's lock is removed under a second lock.
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { UserError } from "../errors.ts";

/** A lock file that stays empty this long belongs to a process that died between creating and writing it. */
const EMPTY_LOCK_STALE_MS = 10_000;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Creates `file` exclusively with our pid in it; false if it exists. */
function tryCreate(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, "wx", 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  writeSync(fd, String(process.pid));
  closeSync(fd);
  return true;
}

/** The lock's owner: a pid, "gone" if the file vanished, "stale" if it cannot be anyone's. */
function ownerOf(file: string): number | "gone" | "stale" {
  try {
    const text = readFileSync(file, "utf8");
    if (text) return alive(Number(text)) ? Number(text) : "stale";
    return Date.now() - statSync(file).mtimeMs > EMPTY_LOCK_STALE_MS ? "stale" : 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "gone";
    throw err;
  }
}

const unlinkIfThere = (file: string) => {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
};

/** Removes a stale lock, re-checking under `${file}.takeover` so that a live lock is never removed by mistake. */
function removeStale(file: string) {
  const takeover = `${file}.takeover`;
  if (!tryCreate(takeover)) {
    if (ownerOf(takeover) === "stale") unlinkIfThere(takeover);
    return;
  }
  try {
    if (ownerOf(file) === "stale") unlinkIfThere(file);
  } finally {
    unlinkIfThere(takeover);
  }
}

/** Runs `work` while holding `file`; waits (with jittered back-off) up to `timeoutMs` for another holder. */
export async function withFileLock<T>(file: string, work: () => T | Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 5; !tryCreate(file); wait = Math.min(wait * 2, 200)) {
    const owner = ownerOf(file);
    if (owner === "gone") continue;
    if (owner === "stale") {
      removeStale(file);
      continue;
    }
    if (Date.now() > deadline) throw new UserError(`${file} has been locked by process ${owner || "(starting)"} for ${timeoutMs / 1000} s`, "another enrollment is signing; try again, or remove the lock if that process is gone");
    await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
  }
  try {
    return await work();
  } finally {
    unlinkIfThere(file);
  }
}
