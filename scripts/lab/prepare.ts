// What every lab does before its hosts exist: the run id and directory, the state file `down` reads, the lab's SSH key
// and the OpenWrt images of the releases it needs. Shared by both topologies.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { HostContext } from "./host.ts";
import { buildOpenwrtImage } from "./rootfs.ts";
import { bash, q } from "./shell.ts";
import { currentOwner, LAB_DIR, RUN_ID, saveState, type LabState } from "./state.ts";
import type { OpenwrtRelease } from "./types.ts";

export interface StartedLab {
  runId: string;
  dir: string;
  state: LabState;
  /** Appends what a host will own to state.json before it is made (a crash midway leaves a record for `down`). */
  record: HostContext["record"];
}

/** Checks the root and the run id, makes the directory and the state, which owns `owned(runId)` from the start. */
export function startLab(
  runIdAsked: string | undefined,
  owned: (runId: string) => { netns: string[]; links: string[] },
): StartedLab {
  if (process.getuid?.() !== 0)
    throw new Error("the lab needs root (it creates network namespaces and mounts): run it as root");
  const runId = runIdAsked ?? `ml${randomBytes(2).toString("hex")}`;
  if (!RUN_ID.test(runId))
    throw new Error(
      `lab spec: runId must be "ml" and 2 to 8 lowercase letters or digits, got ${JSON.stringify(runId)}`,
    );
  const dir = join(LAB_DIR, runId);
  if (existsSync(dir))
    throw new Error(
      `lab ${runId} exists already (${dir}): pick another runId or remove it with \`npx tsx scripts/lab.ts down ${runId}\``,
    );
  mkdirSync(dir, { recursive: true });
  const state: LabState = { runId, slot: 0, owner: currentOwner(), pids: [], mounts: [], ...owned(runId) };
  saveState(state);
  const record = (o: { netns: string[]; mounts: string[]; pids: number[] }) => {
    state.netns.push(...o.netns);
    state.mounts.push(...o.mounts);
    state.pids.push(...o.pids);
    saveState(state);
  };
  return { runId, dir, state, record };
}

/** The lab's key pair and the images, made at once (with `alsoRun`, e.g. the core network script). */
export async function labKeyAndImages(
  dir: string,
  runId: string,
  releases: (OpenwrtRelease | undefined)[],
  alsoRun: Promise<unknown>,
): Promise<{ sshKeyPath: string; authorizedKey: string }> {
  const sshKeyPath = join(dir, "id_ed25519");
  await Promise.all([
    bash(`ssh-keygen -q -t ed25519 -N '' -C ${q(`meshisp-lab-${runId}`)} -f ${q(sshKeyPath)}`),
    ...[...new Set(releases.filter((r): r is OpenwrtRelease => !!r))].map((release) => buildOpenwrtImage(release)),
    alsoRun,
  ]);
  return { sshKeyPath, authorizedKey: readFileSync(`${sshKeyPath}.pub`, "utf8").trim() };
}
