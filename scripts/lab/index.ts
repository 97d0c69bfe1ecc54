// The lab: real hosts in network namespaces on this machine, a simulated internet, home NATs, and an inventory for them.
// Address plan (DESIGN.md, plan.ts): management 198.18.S.0/24 per lab (bridge in the root namespace, ports isolated,
// no default route), internet 203.0.113.0/24, internet services 198.51.100.0/24, homes 192.168.H.0/24 behind NAT.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { labDown } from "./down.ts";
import { startHost, type HostContext, type StartedHost } from "./host.ts";
import { rebootHost, sysupgradeHost, type LiveHost } from "./openwrt/lifecycle.ts";
import { inventoryYaml } from "./inventory.ts";
import { coreNames, coreScript } from "./network.ts";
import { planLab, SERVICES_ADDRESS, type HostPlan } from "./plan.ts";
import { buildOpenwrtImage } from "./rootfs.ts";
import { bash, inHost, inNetns, pool, q, sleep } from "./shell.ts";
import { claimSlot, currentOwner, LAB_DIR, RUN_ID, saveState, type LabState } from "./state.ts";
import type { Lab, LabHost, LabNamespace, LabSpec } from "./types.ts";

export type { Lab, LabHost, LabHostSpec, LabSpec, LabNamespace, LabHomeSpec, LabHostKind, LifecycleTiming, OpenwrtRelease, Result } from "./types.ts";
export { labDown } from "./down.ts";
export { hostKnownHostsLine, knownHostsLines, readHostKey } from "./inventory.ts";
export { LAB_DIR } from "./state.ts";
export { planLab, MAX_HOSTS, SERVICES_ADDRESS } from "./plan.ts";

/** Hosts set up at once: enough to keep both cores busy while ip and mount wait on the kernel. */
const CONCURRENCY = 12;

export async function labUp(spec: LabSpec): Promise<Lab> {
  if (process.getuid?.() !== 0) throw new Error("the lab needs root (it creates network namespaces and mounts): run it as root");
  const runId = spec.runId ?? `ml${randomBytes(2).toString("hex")}`;
  if (!RUN_ID.test(runId)) throw new Error(`lab spec: runId must be "ml" and 2 to 8 lowercase letters or digits, got ${JSON.stringify(runId)}`);
  const dir = join(LAB_DIR, runId);
  if (existsSync(dir)) throw new Error(`lab ${runId} exists already (${dir}): pick another runId or remove it with \`npx tsx scripts/lab.ts down ${runId}\``);
  planLab(runId, 1, spec.hosts); // Check the spec before creating anything.
  mkdirSync(dir, { recursive: true });
  const core = coreNames(runId);
  const state: LabState = { runId, slot: 0, owner: currentOwner(), pids: [], mounts: [], netns: [core.internet, core.services], links: [core.bridge] };
  saveState(state);
  try {
    state.slot = claimSlot(runId, await managementSlotsInUse());
    saveState(state);
    const plans = planLab(runId, state.slot, spec.hosts);
    const sshKeyPath = join(dir, "id_ed25519");
    await Promise.all([
      bash(`ssh-keygen -q -t ed25519 -N '' -C ${q(`meshisp-lab-${runId}`)} -f ${q(sshKeyPath)}`),
      ...[...new Set(plans.flatMap((p) => (p.release ? [p.release] : [])))].map((release) => buildOpenwrtImage(dir, release)),
      bash(coreScript(state.slot, core)),
    ]);
    const authorizedKey = readFileSync(`${sshKeyPath}.pub`, "utf8").trim();
    const record = (owned: { netns: string[]; mounts: string[]; pids: number[] }) => {
      state.netns.push(...owned.netns);
      state.mounts.push(...owned.mounts);
      state.pids.push(...owned.pids);
      saveState(state);
    };
    const ctx: HostContext = { core, labDir: dir, authorizedKey, record };
    const started = await pool(plans, CONCURRENCY, (plan) => startHost(plan, ctx));
    await pool(plans, 32, (plan) => waitForSsh(plan.mgmtAddress, plan.spec.name));

    const knownHostsPath = join(dir, "known_hosts");
    const inventoryPath = join(dir, "inventory.yml");
    writeFileSync(inventoryPath, inventoryYaml({ runId, sshKeyPath, knownHostsPath }, plans));
    const hosts = plans.map((plan, i) => labHost(plan, started[i], core, ctx));
    writeFileSync(join(dir, "hosts.json"), JSON.stringify(hosts.map(({ name, kind, group, mgmtAddress, wanAddress, publicAddress, lanAddress, pid, netns }) => ({ name, kind, group, mgmtAddress, wanAddress, publicAddress, lanAddress, pid, netns })), null, 2));
    return {
      runId,
      dir,
      slot: state.slot,
      inventoryPath,
      knownHostsPath,
      sshKeyPath,
      hosts,
      host(name: string) {
        const found = hosts.find((h) => h.name === name);
        if (!found) throw new Error(`lab ${runId} has no host ${JSON.stringify(name)} (it has ${hosts.map((h) => h.name).join(", ")})`);
        return found;
      },
      internet: { exec: (cmd: string) => inNetns(core.internet, cmd), netns: core.internet },
      services: { exec: (cmd: string) => inNetns(core.services, cmd), address: SERVICES_ADDRESS, netns: core.services },
      down: () => labDown(runId),
    };
  } catch (err) {
    await labDown(runId).catch(() => undefined);
    throw err;
  }
}

function labHost(plan: HostPlan, started: StartedHost, core: ReturnType<typeof coreNames>, ctx: HostContext): LabHost {
  const name = plan.spec.name;
  const execIn = (ns: LabNamespace, cmd: string) => {
    if (ns === "internet") return inNetns(core.internet, cmd);
    if (ns === "services") return inNetns(core.services, cmd);
    if (ns === "gateway") return plan.home ? inNetns(plan.home.netns, cmd) : Promise.reject(new Error(`lab host ${name} is not behind a home gateway (give it \`home: {}\`)`));
    if (ns === "lan") return plan.lan ? inNetns(plan.lan.netns, cmd) : Promise.reject(new Error(`lab host ${name} has no LAN device (give it \`lan: { subnet }\`)`));
    return Promise.reject(new Error(`unknown lab namespace ${JSON.stringify(ns)}: gateway, lan, internet or services`));
  };
  // The init, its PIDs and the host key change across reboots and reflashes: every use reads them here.
  const live: LiveHost = { plan, pid: started.pid, parentPid: started.parentPid, hostKey: started.hostKey };
  const deps = { ctx, waitForSsh };
  const timed = async (work: () => Promise<void>) => {
    const t0 = Date.now();
    await work();
    return { ms: Date.now() - t0 };
  };
  return {
    name,
    kind: plan.spec.kind,
    ...(plan.release ? { release: plan.release } : {}),
    group: plan.spec.group,
    mgmtAddress: plan.mgmtAddress,
    wanAddress: plan.wanAddress,
    publicAddress: plan.publicAddress,
    lanAddress: plan.lan?.deviceAddress,
    get pid() {
      return live.pid;
    },
    netns: plan.netns,
    get hostKey() {
      return live.hostKey;
    },
    exec: (cmd: string) => inHost(live.pid, cmd),
    execIn,
    execGateway: (cmd: string) => execIn("gateway", cmd),
    execLan: (cmd: string) => execIn("lan", cmd),
    reboot: () => timed(() => rebootHost(live, deps)),
    sysupgrade: ({ keepSettings = true } = {}) => timed(() => sysupgradeHost(live, deps, keepSettings)),
  };
}

/** Slots whose 198.18.S.1 is already on an interface here (labs made before slot claims existed, or by hand). */
async function managementSlotsInUse(): Promise<Set<number>> {
  const out = (await bash("ip -4 -o addr show", { check: false })).stdout;
  return new Set([...out.matchAll(/198\.18\.(\d+)\.\d+\//g)].map((m) => Number(m[1])));
}

/** Waits until the host's SSH daemon sends its banner (up to 15 s). */
async function waitForSsh(address: string, name: string): Promise<void> {
  for (let t = 0; t < 750; t++) {
    if (await banner(address)) return;
    await sleep(20);
  }
  throw new Error(`lab host ${name}: its SSH daemon did not answer on ${address}:22 within 15 s`);
}

function banner(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port: 22, timeout: 1000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("data", (d) => done(d.toString().startsWith("SSH-")));
    socket.once("error", () => done(false));
    socket.once("timeout", () => done(false));
    socket.once("close", () => done(false));
  });
}
