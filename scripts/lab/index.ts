// The lab: real hosts in network namespaces on this machine, a simulated internet, home NATs, and an inventory for them.
// Address plan (DESIGN.md, plan.ts): management 198.18.S.0/24 per lab (bridge in the root namespace, ports isolated,
// no default route), internet 203.0.113.0/24, internet services 198.51.100.0/24, homes 192.168.H.0/24 behind NAT.
import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { UserError } from "../../lib/errors.ts";
import { labDown } from "./down.ts";
import { startHost, type HostContext } from "./host.ts";
import { CONCURRENCY, hostFinder, labHostBase, saveHosts } from "./lab-host.ts";
import { inventoryYaml } from "./inventory.ts";
import { coreNames, coreScript } from "./network.ts";
import { pilotLabUp } from "./pilot/up.ts";
import { planLab, SERVICES_ADDRESS, type AnyHostPlan, type HostPlan } from "./plan.ts";
import { labKeyAndImages, startLab } from "./prepare.ts";
import { bash, inNetns, pool, sleep } from "./shell.ts";
import { claimSlot, saveState } from "./state.ts";
import type { InternetLab, InternetLabHost, LabSpec, PilotLab } from "./types.ts";

export type { InternetLab, Lab, LabHost, LabHostSpec, LabSpec, PilotLab } from "./types.ts";
export { labDown } from "./down.ts";
export { LAB_DIR } from "./state.ts";

/**
 * Brings a lab up: the "internet" topology unless the spec says `topology: "pilot"`. The internet overload is last, so
 * `Parameters<typeof labUp>[0]` is the internet topology's spec.
 */
export function labUp(spec: LabSpec & { topology: "pilot" }): Promise<PilotLab>;
export function labUp(spec: LabSpec & { topology?: "internet" }): Promise<InternetLab>;
export function labUp(spec: LabSpec): Promise<InternetLab | PilotLab> {
  if (spec.topology === "pilot") return pilotLabUp(spec);
  if (spec.topology !== undefined && spec.topology !== "internet")
    return Promise.reject(
      new UserError(`lab spec: topology must be "pilot" or "internet", got ${JSON.stringify(spec.topology)}`),
    );
  if (spec.installers !== undefined)
    return Promise.reject(
      new UserError(
        `lab spec: installers is for topology "pilot" (installers' laptops on routers' LANs); the internet topology reaches every host over its management network`,
      ),
    );
  return internetLabUp(spec);
}

async function internetLabUp(spec: LabSpec): Promise<InternetLab> {
  planLab("mlcheck", 1, spec.hosts); // Check the spec before creating anything.
  const { runId, dir, state, record } = startLab(spec.runId, (id) => ({
    netns: [coreNames(id).internet, coreNames(id).services],
    links: [coreNames(id).bridge],
  }));
  const core = coreNames(runId);
  try {
    state.slot = claimSlot(runId, await managementSlotsInUse());
    saveState(state);
    const plans = planLab(runId, state.slot, spec.hosts);
    const { sshKeyPath, authorizedKey } = await labKeyAndImages(
      dir,
      runId,
      plans.map((p) => p.release),
      bash(coreScript(state.slot, core)),
    );
    const ctx: HostContext = { core, labDir: dir, authorizedKey, record };
    const started = await pool(plans, CONCURRENCY, (plan) => startHost(plan, ctx));
    const waitForSsh = (plan: AnyHostPlan) => waitForBanner((plan as HostPlan).mgmtAddress, plan.spec.name);
    await pool(plans, 32, waitForSsh);

    const knownHostsPath = join(dir, "known_hosts");
    const inventoryPath = join(dir, "inventory.yml");
    writeFileSync(inventoryPath, inventoryYaml({ runId, sshKeyPath, knownHostsPath }, plans));
    const deps = { ctx, internet: core.internet, services: core.services, waitForSsh };
    const hosts: InternetLabHost[] = plans.map((plan, i) =>
      Object.assign(labHostBase(plan, started[i], deps), { mgmtAddress: plan.mgmtAddress }),
    );
    saveHosts(dir, hosts, [
      "name",
      "kind",
      "group",
      "mgmtAddress",
      "wanAddress",
      "publicAddress",
      "lanAddress",
      "pid",
      "netns",
    ]);
    return {
      topology: "internet",
      runId,
      dir,
      slot: state.slot,
      inventoryPath,
      knownHostsPath,
      sshKeyPath,
      hosts,
      host: hostFinder(runId, hosts),
      internet: { exec: (cmd: string) => inNetns(core.internet, cmd), netns: core.internet },
      services: { exec: (cmd: string) => inNetns(core.services, cmd), address: SERVICES_ADDRESS, netns: core.services },
      down: () => labDown(runId),
    };
  } catch (err) {
    await labDown(runId).catch(() => undefined);
    throw err;
  }
}

/** Slots whose 198.18.S.1 is already on an interface here (labs made before slot claims existed, or by hand). */
async function managementSlotsInUse(): Promise<Set<number>> {
  const out = (await bash("ip -4 -o addr show", { check: false })).stdout;
  return new Set([...out.matchAll(/198\.18\.(\d+)\.\d+\//g)].map((m) => Number(m[1])));
}

/** Waits until the host's SSH daemon sends its banner on the management network (up to 15 s). */
async function waitForBanner(address: string, name: string): Promise<void> {
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
