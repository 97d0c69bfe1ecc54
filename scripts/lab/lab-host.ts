// The part of a LabHost every topology shares: exec in the host and its neighbour namespaces, reboot, sysupgrade.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { HostContext, StartedHost } from "./host.ts";
import { rebootHost, sysupgradeHost, type LiveHost } from "./openwrt/lifecycle.ts";
import type { AnyHostPlan } from "./plan.ts";
import { inHost, inNetns } from "./shell.ts";
import type { LabHostBase, LabNamespace } from "./types.ts";

/** Hosts set up at once: enough to keep both cores busy while ip and mount wait on the kernel. */
export const CONCURRENCY = 12;

/** Writes hosts.json: the named fields of each host, in that order (scripts/lab.ts and the failover test read them back). */
export function saveHosts<H>(dir: string, hosts: readonly H[], fields: readonly (keyof H & string)[]): void {
  const pick = (h: H) => Object.fromEntries(fields.map((f) => [f, h[f]]));
  writeFileSync(join(dir, "hosts.json"), JSON.stringify(hosts.map(pick), null, 2));
}

/** lab.host(name), with an error that lists the lab's hosts. */
export const hostFinder =
  <H extends { name: string }>(runId: string, hosts: H[]) =>
  (name: string): H => {
    const found = hosts.find((h) => h.name === name);
    if (!found)
      throw new Error(
        `lab ${runId} has no host ${JSON.stringify(name)} (it has ${hosts.map((h) => h.name).join(", ")})`,
      );
    return found;
  };

export interface LabHostDeps {
  ctx: HostContext;
  /** The internet router's and the services' namespaces. */
  internet: string;
  services: string;
  /** Resolves once the host's SSH daemon answers (each topology waits where it can reach it). */
  waitForSsh(plan: AnyHostPlan): Promise<void>;
}

/** A host's shared part; the topology adds its own fields with Object.assign (which keeps these getters live). */
export function labHostBase(plan: AnyHostPlan, started: StartedHost, deps: LabHostDeps): LabHostBase {
  const name = plan.spec.name;
  const execIn = (ns: LabNamespace, cmd: string) => {
    if (ns === "internet") return inNetns(deps.internet, cmd);
    if (ns === "services") return inNetns(deps.services, cmd);
    if (ns === "gateway")
      return plan.home
        ? inNetns(plan.home.netns, cmd)
        : Promise.reject(new Error(`lab host ${name} is not behind a home gateway (give it \`home: {}\`)`));
    if (ns === "lan")
      return plan.lan
        ? inNetns(plan.lan.netns, cmd)
        : Promise.reject(new Error(`lab host ${name} has no LAN device (give it \`lan: { subnet }\`)`));
    return Promise.reject(new Error(`unknown lab namespace ${JSON.stringify(ns)}: gateway, lan, internet or services`));
  };
  // The init, its PIDs and the host key change across reboots and reflashes: every use reads them here.
  const live: LiveHost = { plan, pid: started.pid, parentPid: started.parentPid, hostKey: started.hostKey };
  const lifecycle = { ctx: deps.ctx, waitForSsh: deps.waitForSsh };
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
    exec: (cmd: string) => inHost(live.pid, plan.spec.kind, cmd),
    execIn,
    execGateway: (cmd: string) => execIn("gateway", cmd),
    execLan: (cmd: string) => execIn("lan", cmd),
    reboot: () => timed(() => rebootHost(live, lifecycle)),
    sysupgrade: ({ keepSettings = true } = {}) => timed(() => sysupgradeHost(live, lifecycle, keepSettings)),
  };
}
