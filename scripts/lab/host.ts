// Brings one lab host up in a single script: its networks, its root filesystem (a read-only lower layer plus a tmpfs
// upper layer), then its init (busybox init as PID 1) in new PID, UTS and mount namespaces inside its network namespace.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { hostLayerScript } from "./host-layer.ts";
import { hostNetworkScript, type CoreNames } from "./network.ts";
import type { HostPlan } from "./plan.ts";
import { bash, q, sleep } from "./shell.ts";

export interface StartedHost {
  pid: number;
  /** The `unshare` process that waits for the init (root PID namespace). */
  parentPid: number;
  hostKey: string;
  hostDir: string;
}

export interface HostContext {
  core: CoreNames;
  labDir: string;
  authorizedKey: string;
  /** Called with what the host will own before it is created, so a crash midway leaves a record for `down`. */
  record(owned: { netns: string[]; mounts: string[]; pids: number[] }): void;
}

export async function startHost(plan: HostPlan, ctx: HostContext): Promise<StartedHost> {
  const { spec } = plan;
  const hostDir = join(ctx.labDir, "hosts", spec.name);
  const root = join(hostDir, "root");
  const layer = join(hostDir, "layer");
  mkdirSync(root, { recursive: true });
  mkdirSync(layer, { recursive: true });
  ctx.record({ netns: [plan.netns, ...(plan.home ? [plan.home.netns] : []), ...(plan.lan ? [plan.lan.netns] : [])], mounts: [layer, root], pids: [] });

  // The password goes in on stdin, never on a command line or into an error message; only its hash is written.
  const passwordHash = spec.password ? (await bash("openssl passwd -6 -stdin", { input: spec.password })).stdout.trim() : undefined;
  const lower = spec.kind === "openwrt" ? join(ctx.labDir, "openwrt-image") : "/";
  const debianOnly = spec.kind === "debian" ? `mount -t tmpfs -o mode=755 tmpfs ${q(`${root}/run`)} && ` : "";
  const boot = [
    `mount -t proc proc ${q(`${root}/proc`)}`,
    `mount -t sysfs sysfs ${q(`${root}/sys`)}`,
    `mount --rbind /dev ${q(`${root}/dev`)}`,
    `mount -t tmpfs -o mode=1777 tmpfs ${q(`${root}/tmp`)}`,
    `${debianOnly}hostname ${q(spec.name)}`,
    `exec chroot ${q(root)} /bin/busybox init`,
  ].join(" && ");
  const script = `set -euo pipefail
${hostNetworkScript(plan, ctx.core)}
U=${q(`${layer}/upper`)}
mount -t tmpfs -o size=256m,mode=755 tmpfs ${q(layer)}
mkdir -p "$U" ${q(`${layer}/work`)}
${hostLayerScript({ kind: spec.kind, name: spec.name, authorizedKey: ctx.authorizedKey, passwordHash })}
mount -t overlay overlay -o ${q(`lowerdir=${lower},upperdir=${layer}/upper,workdir=${layer}/work`)} ${q(root)}
ip netns exec ${plan.netns} unshare --pid --uts --mount --fork --propagation private sh -c ${q(boot)} >/dev/null 2>&1 </dev/null &
echo "PID $!"`;
  const out = (await bash(script)).stdout;
  const hostKey = out.match(/^(ssh-\S+ \S+)/m)?.[1];
  const parentPid = Number(out.match(/^PID (\d+)$/m)?.[1]);
  if (!hostKey || !parentPid) throw new Error(`lab host ${spec.name}: could not read its host key or start its init:\n${out}`);
  ctx.record({ netns: [], mounts: [], pids: [parentPid] });
  const pid = await childOf(parentPid);
  if (!pid) throw new Error(`lab host ${spec.name}: its init did not start (unshare exited early; is this machine allowing namespaces?)`);
  ctx.record({ netns: [], mounts: [], pids: [pid] });
  return { pid, parentPid, hostKey, hostDir };
}

/** The first child of a process (the init `unshare --fork` starts), waiting up to 4 s for it to appear. */
async function childOf(parent: number): Promise<number> {
  for (let t = 0; t < 400; t++) {
    try {
      const children = readFileSync(`/proc/${parent}/task/${parent}/children`, "utf8").trim();
      if (children) return Number(children.split(/\s+/)[0]);
    } catch {
      return 0;
    }
    await sleep(10);
  }
  return 0;
}
