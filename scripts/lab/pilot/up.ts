// Brings the pilot topology up (plan.ts has the address plan, network.ts the wiring): hosts set up through their
// namespaces, SSH waited for from inside each host's own namespace, nothing in the root namespace; the runner under
// test runs in a laptop's namespace (lab.laptop).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { labDown } from "../down.ts";
import { startHost, type HostContext } from "../host.ts";
import { CONCURRENCY, hostFinder, labHostBase, saveHosts } from "../lab-host.ts";
import { SERVICES_ADDRESS, type AnyHostPlan } from "../plan.ts";
import { labKeyAndImages, startLab } from "../prepare.ts";
import { bash, inNetns, pool, q } from "../shell.ts";
import type { LabSpec, PilotLab, PilotLabHost } from "../types.ts";
import { pilotInventoryYaml } from "./inventory.ts";
import { installer, laptop } from "./laptop.ts";
import { cutPortCommand, pilotCoreScript } from "./network.ts";
import { checkInstallers, pilotNames, planPilot, type PilotHostPlan } from "./plan.ts";

/** How long a host's SSH daemon may take to answer after its init started (a loaded machine: seconds). */
const SSH_WAIT_S = 60;

export async function pilotLabUp(spec: LabSpec): Promise<PilotLab> {
  planPilot("mlcheck", spec.hosts); // Check the spec before creating anything.
  const installers = checkInstallers(spec.installers);
  const { runId, dir, record } = startLab(spec.runId, (id) => {
    const n = pilotNames(id, installers);
    return { netns: [n.internet, n.services, n.kitchen, n.radio, n.kitchenLaptop, ...n.installerLaptops], links: [] };
  });
  try {
    const names = pilotNames(runId, installers);
    const plans = planPilot(runId, spec.hosts);
    const kitchen = plans.find((p) => p.pilot.site === "kitchen")!;
    const { sshKeyPath, authorizedKey } = await labKeyAndImages(
      dir,
      runId,
      plans.map((p) => p.release),
      bash(pilotCoreScript(names, kitchen)),
    );
    const ctx: HostContext = { pilot: names, labDir: dir, authorizedKey, record };
    const started = await pool(plans, CONCURRENCY, (plan) => startHost(plan, ctx));
    await pool(plans, 32, waitForSshInside);

    const knownHostsPath = join(dir, "known_hosts");
    const inventoryPath = join(dir, "inventory.yml");
    writeFileSync(inventoryPath, pilotInventoryYaml({ runId, sshKeyPath, knownHostsPath }, plans));
    const deps = { ctx, internet: names.internet, services: names.services, waitForSsh: waitForSshInside };
    const hosts = plans.map((plan, i): PilotLabHost => {
      const { site, radio, routerLan, meshIp, linePort } = plan.pilot;
      const port = (ns: string, p: string | undefined, what: string) => (cut: boolean) => async () => {
        if (!p) throw new Error(`lab host ${plan.spec.name} has no ${what} (site ${JSON.stringify(site)})`);
        const r = await inNetns(ns, cutPortCommand(p, cut));
        if (r.code !== 0)
          throw new Error(`lab host ${plan.spec.name}: could not ${cut ? "cut" : "restore"} its ${what}: ${r.stderr}`);
      };
      const line = port(names.internet, plan.home ? linePort : undefined, "line (a gateway in front of it)");
      const link = port(names.radio, radio?.port, "radio link");
      return Object.assign(labHostBase(plan, started[i], deps), {
        site,
        ...(meshIp ? { meshIp } : {}),
        ...(radio ? { radioAddress: radio.address, ...(radio.mbit ? { radioMbit: radio.mbit } : {}) } : {}),
        ...(routerLan ? { routerLanAddress: routerLan.address } : {}),
        cutLine: line(true),
        restoreLine: line(false),
        cutRadio: link(true),
        restoreRadio: link(false),
      });
    });
    saveHosts(dir, hosts, [
      "name",
      "kind",
      "group",
      "site",
      "wanAddress",
      "publicAddress",
      "lanAddress",
      "radioAddress",
      "routerLanAddress",
      "meshIp",
      "pid",
      "netns",
    ]);
    const routerOf = (name: string): PilotHostPlan => {
      const plan = plans.find((p) => p.spec.name === name);
      if (!plan)
        throw new Error(
          `lab ${runId} has no host ${JSON.stringify(name)} (it has ${plans.map((p) => p.spec.name).join(", ")})`,
        );
      return plan;
    };
    const kitchenLaptop = laptop(names.kitchenLaptop, kitchen.pilot.kitchen!.laptopAddress);
    const installerLaptops = names.installerLaptops.map((netns, k) => installer(netns, routerOf, k));
    const installerLaptop = installerLaptops[0];
    return {
      topology: "pilot",
      runId,
      dir,
      inventoryPath,
      knownHostsPath,
      sshKeyPath,
      hosts,
      host: hostFinder(runId, hosts),
      laptop: (which) => {
        if (which === "kitchen") return kitchenLaptop;
        if (which === "installer") return installerLaptop;
        const k = /^installer-([1-9]\d*)$/.exec(which)?.[1];
        if (k && Number(k) <= installerLaptops.length) return installerLaptops[Number(k) - 1];
        throw new Error(
          `lab.laptop: "kitchen", "installer"${installerLaptops.length > 1 ? ` or "installer-1" to "installer-${installerLaptops.length}"` : " (the lab has one installer: LabSpec.installers gives more)"}, got ${JSON.stringify(which)}`,
        );
      },
      installer: installerLaptop,
      installers: installerLaptops,
      internet: { exec: (cmd: string) => inNetns(names.internet, cmd), netns: names.internet },
      services: {
        exec: (cmd: string) => inNetns(names.services, cmd),
        address: SERVICES_ADDRESS,
        netns: names.services,
      },
      radio: { exec: (cmd: string) => inNetns(names.radio, cmd), netns: names.radio },
      kitchen: { exec: (cmd: string) => inNetns(names.kitchen, cmd), netns: names.kitchen },
      down: () => labDown(runId),
    };
  } catch (err) {
    await labDown(runId).catch(() => undefined);
    throw err;
  }
}

/**
 * Waits, from inside the host's own network namespace, until its SSH daemon sends its banner on 127.0.0.1:22 (every
 * daemon listens on all addresses, and fw4 accepts loopback). One shell loop per host, polling every 20 ms.
 */
async function waitForSshInside(plan: AnyHostPlan): Promise<void> {
  const probe = `exec 3<>/dev/tcp/127.0.0.1/22 && head -c 4 <&3`;
  const loop = `end=$((SECONDS + ${SSH_WAIT_S}))
while [ $SECONDS -lt $end ]; do
  [ "$(timeout 2 bash -c ${q(probe)} 2>/dev/null)" = SSH- ] && exit 0
  sleep 0.02
done
exit 1`;
  const r = await bash(`exec ip netns exec ${q(plan.netns)} bash -c ${q(loop)}`, { check: false });
  if (r.code !== 0)
    throw new Error(
      `lab host ${plan.spec.name}: its SSH daemon did not answer on 127.0.0.1:22 inside its namespace within ${SSH_WAIT_S} s${r.stderr ? `:\n${r.stderr}` : ""}`,
    );
}
