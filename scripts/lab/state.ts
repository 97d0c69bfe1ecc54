// What a lab run owns, on disk (.lab/<runId>/state.json), so `down` can undo it even after the creating process died;
// and the management slot (198.18.S.0/24) each run claims with an exclusive file so concurrent labs never share one.
import {
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const LAB_DIR = join(resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."), ".lab");
export const RUN_ID = /^ml[0-9a-z]{2,8}$/;
const SLOTS = join(LAB_DIR, "slots");

export interface LabState {
  runId: string;
  slot: number;
  /** The process that brought the lab up: while it lives, `labDown()` without a run id leaves the lab alone. */
  owner: { pid: number; startTime: string };
  /** Inits of lab hosts and their `unshare` parents (root-namespace PIDs). */
  pids: number[];
  mounts: string[];
  netns: string[];
  links: string[];
}

const statePath = (runId: string) => join(LAB_DIR, runId, "state.json");

export function saveState(state: LabState): void {
  writeFileSync(statePath(state.runId), JSON.stringify(state, null, 2));
}

export function readState(runId: string): LabState | undefined {
  try {
    return JSON.parse(readFileSync(statePath(runId), "utf8")) as LabState;
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/PID/stat: tells a live process from a later one that reused its PID. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

export const currentOwner = () => ({ pid: process.pid, startTime: processStartTime(process.pid) ?? "" });

export function ownerAlive(state: LabState): boolean {
  return !!state.owner && processStartTime(state.owner.pid) === state.owner.startTime;
}

/** Every run directory under .lab/. */
export const labRunIds = (): string[] =>
  existsSync(LAB_DIR) ? readdirSync(LAB_DIR).filter((d) => RUN_ID.test(d)) : [];

/** Claims a free slot 1..250: not in use on this machine and not claimed by a live lab directory. */
export function claimSlot(runId: string, addressesInUse: Set<number>): number {
  mkdirSync(SLOTS, { recursive: true });
  for (let slot = 1; slot <= 250; slot++) {
    if (addressesInUse.has(slot)) continue;
    const file = join(SLOTS, String(slot));
    const holder = readClaim(file);
    // A claim whose lab directory is gone was left by a crash; re-read just before removing it.
    if (holder && !existsSync(join(LAB_DIR, holder)) && readClaim(file) === holder) rmSync(file, { force: true });
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, runId);
      closeSync(fd);
      return slot;
    } catch {
      // Claimed by another lab: try the next one.
    }
  }
  throw new Error(
    "no free management slot in 198.18.0.0/16 (250 labs up?): remove old labs with `npx tsx scripts/lab.ts down`",
  );
}

function readClaim(file: string): string {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return "";
  }
}

export function releaseSlot(runId: string, slot: number | undefined): void {
  const file = join(SLOTS, String(slot));
  if (slot !== undefined && readClaim(file) === runId) rmSync(file, { force: true });
}
