// Tears a lab down: its processes (by PID, only those inside the lab), its mounts, namespaces, links and directory.
// Idempotent, and works from state.json plus what is named after the run, so it also cleans up after a crash.
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { join } from "node:path";
import { bash, isZombie, q, sleep } from "./shell.ts";
import { LAB_DIR, labRunIds, ownerAlive, readState, releaseSlot, RUN_ID } from "./state.ts";

/**
 * Removes the lab `runId`; without one, every lab whose creating process is gone (left by a crash or by
 * `scripts/lab.ts up`). `all: true` also removes labs whose creator still runs.
 */
export async function labDown(runId?: string, options: { all?: boolean } = {}): Promise<void> {
  if (runId !== undefined && !RUN_ID.test(runId))
    throw new Error(
      `not a lab run id: ${JSON.stringify(runId)} (expected ml followed by letters or digits, as \`scripts/lab.ts status\` lists)`,
    );
  const ids = runId ? [runId] : labRunIds().filter((id) => options.all || !isLive(id));
  for (const id of ids) await teardown(id);
}

function isLive(runId: string): boolean {
  const state = readState(runId);
  return !!state && ownerAlive(state);
}

/** Processes that belong to the lab: chrooted into it, started from its files, or inside one of its namespaces. */
async function labProcesses(dir: string, netns: string[]): Promise<number[]> {
  const found = new Set<number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const root = readlinkSync(`/proc/${entry}/root`);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (root.startsWith(`${dir}/`) || cmdline.includes(`${dir}/hosts/`)) found.add(Number(entry));
    } catch {
      // Gone already, or a kernel thread.
    }
  }
  if (netns.length) {
    const r = await bash(netns.map((ns) => `ip netns pids ${q(ns)} 2>/dev/null`).join("; "), { check: false });
    for (const pid of r.stdout.split(/\s+/).filter(Boolean)) found.add(Number(pid));
  }
  found.delete(process.pid);
  return [...found];
}

const mountsUnder = (dir: string) =>
  readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1])
    .filter((m) => m?.startsWith(`${dir}/`));

async function teardown(runId: string): Promise<void> {
  const dir = join(LAB_DIR, runId);
  const state = readState(runId);
  const named = (await bash(`ip netns list | awk '{print $1}'`, { check: false })).stdout
    .split("\n")
    .filter((ns) => ns.startsWith(`${runId}-`));
  const netns = [...new Set([...(state?.netns ?? []), ...named])];

  const pids = await labProcesses(dir, netns);
  if (pids.length) await bash(`kill -9 ${pids.join(" ")} 2>/dev/null`, { check: false });
  for (let t = 0; t < 100 && pids.some((p) => existsSync(`/proc/${p}`) && !isZombie(p)); t++) await sleep(20);

  for (const m of mountsUnder(dir).reverse()) await bash(`umount -l ${q(m)}`, { check: false });
  if (netns.length) await bash(netns.map((ns) => `ip netns del ${q(ns)} 2>/dev/null`).join("; "), { check: false });
  for (const link of new Set([...(state?.links ?? []), `${runId}br`]))
    await bash(`ip link del ${q(link)} 2>/dev/null`, { check: false });
  releaseSlot(runId, state?.slot);
  // Never recurse into a directory that still has something mounted under it.
  if (mountsUnder(dir).length === 0) rmSync(dir, { recursive: true, force: true });
}
