// Brings one lab host up in a single script: its networks, its root filesystem (a read-only lower layer plus a tmpfs
// upper layer, the host's "flash"), then its init (busybox init as PID 1) in new PID, UTS and mount namespaces inside
// its network namespace. Also the pieces a power cycle needs: stop the init, give the host a fresh network namespace
// with only the lab's wiring, start the init again.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { initEnv } from "./device-env.ts";
import { hostLayerScript } from "./host-layer.ts";
import { hostNetworkScript, type CoreNames } from "./network.ts";
import { openwrtImageDir } from "./rootfs.ts";
import { INTERNET_ROUTER, type AnyHostPlan, type HostPlan } from "./plan.ts";
import { pilotFreshNetnsScript, pilotHostNetworkScript } from "./pilot/network.ts";
import type { PilotNames } from "./pilot/plan.ts";
import { bash, isZombie, q, sleep } from "./shell.ts";

export interface StartedHost {
  pid: number;
  /** The `unshare` process that waits for the init (root PID namespace). */
  parentPid: number;
  hostKey: string;
  hostDir: string;
}

export interface HostContext {
  /** The internet topology's core names; the pilot's namespaces (`pilot`) in the pilot topology. */
  core?: CoreNames;
  pilot?: PilotNames;
  labDir: string;
  authorizedKey: string;
  /** Called with what the host will own before it is created, so a crash midway leaves a record for `down`. */
  record(owned: { netns: string[]; mounts: string[]; pids: number[] }): void;
}

/** Where a host's pieces live: the merged root, and the tmpfs holding the overlay's upper ("flash") and work dirs. */
export const hostPaths = (labDir: string, name: string) => {
  const hostDir = join(labDir, "hosts", name);
  return {
    hostDir,
    root: join(hostDir, "root"),
    layer: join(hostDir, "layer"),
    upper: join(hostDir, "layer", "upper"),
    work: join(hostDir, "layer", "work"),
  };
};

const lowerOf = (plan: AnyHostPlan) => (plan.spec.kind === "openwrt" ? openwrtImageDir(plan.release ?? "24.10") : "/");

/** The overlay mount of a host's root (its image under its flash). */
export const mountRootScript = (plan: AnyHostPlan, labDir: string) => {
  const p = hostPaths(labDir, plan.spec.name);
  return `mount -t overlay overlay -o ${q(`lowerdir=${lowerOf(plan)},upperdir=${p.upper},workdir=${p.work}`)} ${q(p.root)}`;
};

/** Starts the init in the host's namespaces; prints "PID <unshare's pid>". */
function initScript(plan: AnyHostPlan, root: string): string {
  const debianOnly = plan.spec.kind === "debian" ? `mount -t tmpfs -o mode=755 tmpfs ${q(`${root}/run`)} && ` : "";
  const boot = [
    `mount -t proc proc ${q(`${root}/proc`)}`,
    `mount -t sysfs sysfs ${q(`${root}/sys`)}`,
    `mount --rbind /dev ${q(`${root}/dev`)}`,
    `mount -t tmpfs -o mode=1777 tmpfs ${q(`${root}/tmp`)}`,
    `${debianOnly}hostname ${q(plan.spec.name)}`,
    `exec chroot ${q(root)} /bin/busybox init`,
  ].join(" && ");
  // The init (and every daemon it starts) gets what a device's init gets from its kernel, not this process's environment.
  return `${initEnv(plan.spec.kind)} ip netns exec ${plan.netns} unshare --pid --uts --mount --fork --propagation private sh -c ${q(boot)} >/dev/null 2>&1 </dev/null &
echo "PID $!"`;
}

/** The host's wiring in its topology. */
function networkScript(plan: AnyHostPlan, ctx: HostContext): string {
  if ("pilot" in plan) return pilotHostNetworkScript(plan, ctx.pilot!);
  return hostNetworkScript(plan, ctx.core!);
}

export async function startHost(plan: AnyHostPlan, ctx: HostContext): Promise<StartedHost> {
  const { spec } = plan;
  const { hostDir, root, layer, upper, work } = hostPaths(ctx.labDir, spec.name);
  mkdirSync(root, { recursive: true });
  mkdirSync(layer, { recursive: true });
  ctx.record({
    netns: [plan.netns, ...(plan.home ? [plan.home.netns] : []), ...(plan.lan ? [plan.lan.netns] : [])],
    mounts: [layer, root],
    pids: [],
  });

  // The password goes in on stdin, never on a command line or into an error message; only its hash is written.
  // A router waiting to be enrolled is as it left the factory: no key of anyone's on it, only its root password (or none).
  // So is a member's Debian machine waiting to be enrolled with a password: only root's password lets the installer in.
  const factoryFresh = spec.notInInventory === true && (spec.kind === "openwrt" || spec.password !== undefined);
  const passwordHash = spec.password
    ? (await bash("openssl passwd -6 -stdin", { input: spec.password })).stdout.trim()
    : undefined;
  const script = `set -euo pipefail
${networkScript(plan, ctx)}
U=${q(upper)}
mount -t tmpfs -o size=256m,mode=755 tmpfs ${q(layer)}
mkdir -p "$U" ${q(work)}
${hostLayerScript({ kind: spec.kind, name: spec.name, authorizedKey: factoryFresh ? undefined : ctx.authorizedKey, passwordHash, image: lowerOf(plan) })}
${mountRootScript(plan, ctx.labDir)}
${initScript(plan, root)}`;
  const out = (await bash(script)).stdout;
  const hostKey = out.match(/^(ssh-\S+ \S+)/m)?.[1];
  if (!hostKey) throw new Error(`lab host ${spec.name}: could not read its host key:\n${out}`);
  const { pid, parentPid } = await awaitInit(plan, out, ctx);
  return { pid, parentPid, hostKey, hostDir };
}

/** Starts the init of a host whose root is mounted (after a reboot or a reflash). */
export async function bootHost(plan: AnyHostPlan, ctx: HostContext): Promise<{ pid: number; parentPid: number }> {
  const out = (await bash(`set -euo pipefail\n${initScript(plan, hostPaths(ctx.labDir, plan.spec.name).root)}`)).stdout;
  return awaitInit(plan, out, ctx);
}

async function awaitInit(
  plan: AnyHostPlan,
  out: string,
  ctx: HostContext,
): Promise<{ pid: number; parentPid: number }> {
  const parentPid = Number(out.match(/^PID (\d+)$/m)?.[1]);
  if (!parentPid) throw new Error(`lab host ${plan.spec.name}: could not start its init:\n${out}`);
  ctx.record({ netns: [], mounts: [], pids: [parentPid] });
  const pid = await childOf(parentPid);
  if (!pid)
    throw new Error(
      `lab host ${plan.spec.name}: its init did not start (unshare exited early; is this machine allowing namespaces?)`,
    );
  ctx.record({ netns: [], mounts: [], pids: [pid] });
  return { pid, parentPid };
}

/** Ends every process of the host (killing its init ends its PID namespace) and waits until they are gone. */
export async function stopHost(plan: AnyHostPlan, started: { pid: number; parentPid: number }): Promise<void> {
  await bash(`kill -9 ${started.pid} 2>/dev/null || true`);
  for (let t = 0; t < 500; t++) {
    const left = (await bash(`ip netns pids ${q(plan.netns)} 2>/dev/null`, { check: false })).stdout.trim();
    if (!left && (!existsSync(`/proc/${started.parentPid}`) || isZombie(started.parentPid))) return;
    await sleep(10);
  }
  throw new Error(
    `lab host ${plan.spec.name}: its processes did not end within 5 s of killing its init (PID ${started.pid})`,
  );
}

/**
 * A fresh network namespace under the same name, holding only the lab's wiring (network.ts made it: mgmt0, wan0 and
 * lan0 with their addresses and the default route). The lab's links are parked in a spare namespace meanwhile; every
 * other link the host made (vxlan, ifb, tun, ...) dies with the old namespace, and so do its routes, rules,
 * nftables, qdiscs and sysctls. Run only while no process of the host lives.
 */
export function freshNetnsScript(plan: AnyHostPlan): string {
  return "pilot" in plan ? pilotFreshNetnsScript(plan) : internetFreshNetnsScript(plan);
}

function internetFreshNetnsScript(plan: HostPlan): string {
  const ns = plan.netns;
  const spare = `${ns}-x`;
  const links = ["mgmt0", "wan0", ...(plan.lan ? ["lan0"] : [])];
  const gateway = plan.home ? plan.home.gatewayLan : INTERNET_ROUTER;
  return `set -euo pipefail
ip netns del ${q(spare)} 2>/dev/null || true
ip netns add ${q(spare)}
${links.map((l) => `ip -n ${q(ns)} link set ${l} netns ${q(spare)}`).join("\n")}
ip netns del ${q(ns)}
ip netns add ${q(ns)}
ip -n ${q(ns)} link set lo up
${links.map((l) => `ip -n ${q(spare)} link set ${l} netns ${q(ns)}`).join("\n")}
ip netns del ${q(spare)}
ip -n ${q(ns)} addr add ${plan.mgmtAddress}/24 dev mgmt0 && ip -n ${q(ns)} link set mgmt0 up
ip -n ${q(ns)} addr add ${plan.wanAddress}/24 dev wan0 && ip -n ${q(ns)} link set wan0 up && ip -n ${q(ns)} route add default via ${gateway}
${plan.lan ? `ip -n ${q(ns)} addr add ${plan.lan.hostAddress}/${plan.lan.prefix} dev lan0 && ip -n ${q(ns)} link set lan0 up` : ""}`;
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
