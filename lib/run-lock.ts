// The inventory's run lock: one playbook run at a time per inventory, and a person told who holds it and since when.
//
// Two deploy-hub runs at once interleaved restarts on the hub, and one failed on a raw tc error. A playbook (deploy-hub,
// deploy-relay, site-base) holds the lock alone ("exclusive"); enrollments hold it together ("shared": each sets up
// its own node and they take turns at the hub under `${inventory}.hub-lock`; two installers may enroll at once), so an
// enrollment waits for a playbook and a playbook for every enrollment. A second run waits, saying who it waits for,
// up to a bound (MESHISP_RUN_LOCK_WAIT seconds, default 10 minutes; 0 refuses at once), then refuses naming the holder.
//
// `${inventory}.run-lock` is a table of holders (JSON, written whole), read and changed only under lib/lock.ts's lock
// on `${inventory}.run-lock.lock`, held for microseconds and never while waiting. A holder whose process is gone
// (lib/lock.ts's ownerGone: same host and boot, its pid not running or reused) is dropped by the next run that looks:
// a run killed with SIGKILL or a power cut leaves nothing that blocks.
//
// No deadlock with the other locks (`${inventory}.lock` for edits, `.hub-lock`, the CA register's): a run takes this
// lock first, before any other, and each of those is held only briefly by a process that already holds this one (or
// by one that never takes it), never while waiting for this one.
import { existsSync, readFileSync, unlinkSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { writeFileAtomic } from "./atomic-file.ts";
import { UserError } from "./errors.ts";
import { lockOwner, ownerGone, withLockSync, type LockOwner } from "./lock.ts";

export type RunMode = "exclusive" | "shared";

/** Who runs against an inventory: the process (lib/lock.ts's owner), its user and command, since when, how. */
export interface RunHolder extends LockOwner {
  user: string;
  command: string;
  /** ISO 8601 */
  since: string;
  mode: RunMode;
}

export interface RunLockOptions {
  mode: RunMode;
  /** The command people type, e.g. "tasks/deploy-hub.ts" (its flags are added from argv when it is this process's). */
  command: string;
  /** How long to wait for the holders; default MESHISP_RUN_LOCK_WAIT (seconds) or 10 minutes. 0: refuse at once. */
  waitMs?: number;
  /** Where "waiting for ..." lines go (default stderr). */
  log?: (line: string) => void;
}

export const runLockFile = (inventoryFile: string) => `${inventoryFile}.run-lock`;
const DEFAULT_WAIT_MS = 10 * 60_000;
const MAX_POLL_MS = 1000;

/** The wait bound from MESHISP_RUN_LOCK_WAIT (seconds), refused when it is no number. */
export function defaultWaitMs(env = process.env.MESHISP_RUN_LOCK_WAIT): number {
  if (env === undefined || env === "") return DEFAULT_WAIT_MS;
  const s = Number(env);
  if (!Number.isFinite(s) || s < 0)
    throw new UserError(`MESHISP_RUN_LOCK_WAIT is "${env}": expected how many seconds to wait (0: do not wait)`);
  return s * 1000;
}

const userName = () => {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? `uid ${process.getuid?.() ?? "?"}`;
  }
};

/** The command line, its flags too when this process runs `command`; -e values left out (they may hold anything). */
export function commandLine(command: string, argv = process.argv): string {
  if (!argv[1]?.endsWith(command)) return command;
  const args: string[] = [];
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const joined = /^(--extra-vars|-e)=?(.*)$/.exec(a);
    if (joined && joined[2]) args.push(`${joined[1]} ${joined[2].split("=")[0]}=...`);
    else if (joined) {
      args.push(a, `${(argv[++i] ?? "").split("=")[0]}=...`);
    } else args.push(/\s/.test(a) ? JSON.stringify(a) : a);
  }
  return [command, ...args].join(" ");
}

const ago = (ms: number) => {
  if (ms < 10_000) return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
};

/** "tasks/deploy-hub.ts -i inv.yml (root@kitchen, pid 4242), running since 15:42:10 UTC (2 min 5 s)" */
export function describeHolder(h: RunHolder, now = Date.now()): string {
  const who = `${h.command} (${h.user}@${h.host}, pid ${h.pid})`;
  const since = new Date(h.since);
  if (Number.isNaN(since.getTime())) return `${who}, running since ${h.since}`;
  const iso = since.toISOString();
  const day = iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10) ? "" : `${iso.slice(0, 10)} `;
  return `${who}, running since ${day}${iso.slice(11, 19)} UTC (${ago(now - since.getTime())})`;
}

/** The holders in the table (none when there is no file). */
export function readHolders(file: string): RunHolder[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  try {
    const holders = (JSON.parse(text) as { holders?: unknown }).holders;
    if (Array.isArray(holders)) return holders as RunHolder[];
  } catch {
    // fall through
  }
  throw new UserError(
    `${file} is not the run lock's table of holders`,
    "remove it if no run is going on against this inventory",
  );
}

function writeHolders(file: string, holders: RunHolder[]): void {
  if (holders.length === 0) {
    if (existsSync(file)) unlinkSync(file);
  } else writeFileAtomic(file, `${JSON.stringify({ holders }, null, 2)}\n`, { mode: 0o644 });
}

/** One try at the lock; a directory this user may not write in is said as such, not as an errno. */
function attempt(file: string, me: RunHolder): { blockers: RunHolder[]; dropped: RunHolder[] } {
  try {
    return joinUnlessBlocked(file, me);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EROFS" || code === "EPERM")
      throw new UserError(
        `cannot write the run lock ${file} beside the inventory (${code}): a run records there who is running`,
        "run from a copy of the inventory you may write to, or as its owner",
      );
    throw err;
  }
}

/** Under the table's own lock: drop gone holders, then join if nobody blocks `me`. What blocks, and who was dropped. */
function joinUnlessBlocked(file: string, me: RunHolder): { blockers: RunHolder[]; dropped: RunHolder[] } {
  return withLockSync(`${file}.lock`, () => {
    const all = readHolders(file);
    const live = all.filter((h) => !ownerGone(h) && h.nonce !== me.nonce);
    const dropped = all.filter((h) => ownerGone(h));
    const blockers = live.filter((h) => me.mode === "exclusive" || h.mode === "exclusive");
    if (blockers.length === 0) writeHolders(file, [...live, me]);
    else if (dropped.length) writeHolders(file, live);
    return { blockers, dropped };
  });
}

function release(file: string, nonce: string): void {
  withLockSync(`${file}.lock`, () =>
    writeHolders(
      file,
      readHolders(file).filter((h) => h.nonce !== nonce),
    ),
  );
}

/** Who holds the run lock now (gone holders left out), without writing anything: --check only says so. */
const liveHolders = (inventoryFile: string): RunHolder[] =>
  readHolders(runLockFile(inventoryFile)).filter((h) => !ownerGone(h));

/**
 * Runs `work` holding the inventory's run lock; waits for its holders (saying who and since when) up to the bound,
 * then refuses naming them. Released when `work` ends, and when the process exits on its way (an exit handler).
 */
export async function withRunLock<T>(
  inventoryFile: string,
  options: RunLockOptions,
  work: () => Promise<T>,
): Promise<T> {
  const file = runLockFile(inventoryFile);
  const log = options.log ?? ((line: string) => console.error(line));
  const waitMs = options.waitMs ?? defaultWaitMs();
  const me: RunHolder = {
    ...lockOwner(),
    user: userName(),
    command: commandLine(options.command),
    since: new Date().toISOString(),
    mode: options.mode,
  };
  const deadline = Date.now() + waitMs;
  let told = "";
  for (let poll = 100; ; poll = Math.min(poll * 2, MAX_POLL_MS)) {
    const { blockers, dropped } = attempt(file, me);
    for (const h of dropped)
      log(`The run lock of ${inventoryFile} was held by ${describeHolder(h)}, which is gone: taken over.`);
    if (blockers.length === 0) break;
    const who = blockers.map((h) => describeHolder(h)).join("; ");
    if (waitMs === 0 || Date.now() >= deadline)
      throw new UserError(
        `${inventoryFile} is in use by ${who}${waitMs ? `; waited ${ago(waitMs)}` : ""}`,
        `run the same command again once that has finished (one run at a time per inventory); if that process is gone from ${blockers[0].host === hostname() ? "this machine" : blockers[0].host}, remove ${file}`,
      );
    const names = blockers.map((h) => h.nonce).join();
    if (names !== told)
      log(
        `Waiting for ${who} to finish (one run at a time per ${inventoryFile}; at most ${ago(waitMs)}, MESHISP_RUN_LOCK_WAIT=0 refuses instead)...`,
      );
    told = names;
    await new Promise((r) => setTimeout(r, poll / 2 + Math.random() * poll));
  }
  if (told) log(`${inventoryFile} is free: going on.`);
  // A run that exits on its way (process.exit after an error, a signal's handler) still leaves the table.
  const onExit = () => {
    try {
      release(file, me.nonce);
    } catch {
      // Left for the next run, which drops a gone holder.
    }
  };
  process.once("exit", onExit);
  try {
    return await work();
  } finally {
    process.removeListener("exit", onExit);
    release(file, me.nonce);
  }
}

/**
 * A playbook's run (lib/cli.ts runPlaybook): alone on the inventory. Under --check it takes no lock (it writes nothing,
 * not even a lock file) and only says who is running, since what it plans may change under it.
 */
export async function withPlaybookLock<T>(
  inventoryFile: string,
  command: string,
  check: boolean,
  work: () => Promise<T>,
): Promise<T> {
  if (!check) return withRunLock(inventoryFile, { mode: "exclusive", command }, work);
  for (const h of liveHolders(inventoryFile))
    console.error(`Note: ${describeHolder(h)} is running against ${inventoryFile}: what this check shows may change.`);
  return work();
}
