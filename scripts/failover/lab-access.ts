// Failover test access to a lab built by scripts/lab, either topology: namespaces by name, a small web server on the
// internet services host for new connections, and the cuts made where the lab's own wiring is.
//   "internet": a cut line is the uplink's public address no longer routed by the simulated internet (no radio there).
//   "pilot": a cut line is the home's line (the volunteer's router's port on the internet bridge, the lab's cutLine);
//   a cut radio link is the home's port on the radio bridge (the lab's cutRadio). The LAN device is the maintainer's
//   laptop on the kitchen LAN: a person at the kitchen runs test-failover there (the runner's own place), so what it
//   measures is what they would see; the lab's LAN device behind the hub is the same bridge, but nobody sits at it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { quote } from "../../lib/command.ts";
import { Interrupted } from "../../lib/errors.ts";
import type { Inventory } from "../../lib/inventory/types.ts";
import { cutPortCommand } from "../lab/pilot/network.ts";
import { pilotNames } from "../lab/pilot/plan.ts";
import { counterAfter, runLocal, type CutKind, type FailoverAccess, type Output, type UplinkInfo } from "./access.ts";

interface SavedHost {
  name: string;
  group: string;
  publicAddress: string;
  netns: string;
  lanAddress?: string;
  /** Pilot labs only. */
  site?: string;
  radioAddress?: string;
}

const SERVICES = "198.51.100.10";
const CUT_TABLE = "meshisp_failover_test";

const netnsExec = (netns: string, cmd: string, timeoutMs?: number): Promise<Output> =>
  runLocal(["ip", "netns", "exec", netns, "sh", "-c", cmd], timeoutMs);

/** How each topology cuts: where the LAN device is, and the commands (namespace, shell) that cut and restore. */
interface LabCuts {
  lanNetns: string;
  setup?: { netns: string; cmd: string };
  teardown?: { netns: string; cmd: string };
  command(host: SavedHost, kind: CutKind, cut: boolean): { netns: string; cmd: string };
}

/** The lab's naming plan (scripts/lab/plan.ts, pilot/plan.ts): host i has netns <runId>-i. */
const indexOf = (h: SavedHost) => h.netns.split("-").pop();

function internetCuts(runId: string, hub: SavedHost): LabCuts {
  const internet = `${runId}-inet`;
  return {
    lanNetns: `${runId}-l${indexOf(hub)}`,
    setup: {
      netns: internet,
      cmd: `nft add table ip ${CUT_TABLE} && nft add set ip ${CUT_TABLE} cut '{ type ipv4_addr; }' && nft add chain ip ${CUT_TABLE} forward '{ type filter hook forward priority -10; }' && nft add rule ip ${CUT_TABLE} forward ip saddr @cut drop && nft add rule ip ${CUT_TABLE} forward ip daddr @cut drop`,
    },
    teardown: { netns: internet, cmd: `nft delete table ip ${CUT_TABLE}` },
    command(host, kind, cut) {
      if (kind !== "line")
        throw new Error(`lab ${runId} (topology internet) has no radio links: ${host.name} can only lose its line`);
      return {
        netns: internet,
        cmd: `nft ${cut ? "add" : "delete"} element ip ${CUT_TABLE} cut '{ ${host.publicAddress} }'`,
      };
    },
  };
}

function pilotCuts(runId: string): LabCuts {
  const n = pilotNames(runId);
  return {
    lanNetns: n.kitchenLaptop,
    // The same bridge filters as the lab's cutLine/cutRadio (scripts/lab/pilot/network.ts), by the same port names.
    command(host, kind, cut) {
      if (kind === "radio" && !host.radioAddress)
        throw new Error(`lab ${runId}: ${host.name} (site ${host.site}) has no radio link: it can only lose its line`);
      return kind === "line"
        ? { netns: n.internet, cmd: cutPortCommand(`w${indexOf(host)}`, cut) }
        : { netns: n.radio, cmd: cutPortCommand(`r${indexOf(host)}`, cut) };
    },
  };
}

/** The lab behind an inventory written by scripts/lab (.lab/<runId>/inventory.yml), or null for any other inventory. */
export async function labAccess(inventory: Inventory, uplinks: UplinkInfo[]): Promise<FailoverAccess | null> {
  const dir = dirname(inventory.file);
  const runId = basename(dir);
  if (!inventory.vars.lab || !existsSync(join(dir, "hosts.json"))) return null;
  const hosts = JSON.parse(readFileSync(join(dir, "hosts.json"), "utf8")) as SavedHost[];
  const hub = hosts.find((h) => h.group === "hub");
  const pilot = hosts.some((h) => h.site !== undefined);
  if (!hub) throw new Error(`lab ${runId} has no hub`);
  if (!pilot && !hub.lanAddress) throw new Error(`lab ${runId}: the hub has no LAN device (give it lan: { subnet })`);
  const cuts = pilot ? pilotCuts(runId) : internetCuts(runId, hub);
  const services = `${runId}-svc`;
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const hubVars = inventory.hosts.find((h) => h.group === "hub")?.vars ?? {};
  const hostOf = (name: string) => {
    const h = byName.get(name);
    if (!h) throw new Error(`lab ${runId} has no host ${name}`);
    return h;
  };
  const run = async (what: string, c: { netns: string; cmd: string }) => {
    const out = await netnsExec(c.netns, c.cmd);
    if (out.code !== 0) throw new Error(`lab ${runId}: could not ${what}: ${out.stderr.trim() || `exit ${out.code}`}`);
  };

  // A web server on the services host: every fetch from the LAN is a new TCP connection.
  const www = join(dir, "failover-www");
  mkdirSync(www, { recursive: true });
  writeFileSync(join(www, "index.html"), "ok\n");
  const web = await netnsExec(
    services,
    `busybox httpd -f -p ${SERVICES}:8080 -h ${quote(www)} >/dev/null 2>&1 </dev/null & echo $!`,
  );
  const webPid = Number(web.stdout.trim());
  if (cuts.setup) await run("prepare the cuts", cuts.setup);
  const cutNow = new Set<string>();
  let closed = false;
  const access: FailoverAccess = {
    describe: `lab ${runId} (topology ${pilot ? "pilot" : "internet"})`,
    uplinks,
    table: Number(hubVars.routing_table ?? 100),
    hasBackup: !!hubVars.routing_backup,
    pingTarget: SERVICES,
    url: `http://${SERVICES}:8080/`,
    lan: (cmd) => netnsExec(cuts.lanNetns, cmd),
    hub: (cmd) => netnsExec(hub.netns, cmd),
    async uplinkFlows(name) {
      const out = await netnsExec(hostOf(name).netns, `nft list chain ip meshisp postrouting`);
      return counterAfter(out.stdout, /masquerade/);
    },
    async backupFlows() {
      return counterAfter((await netnsExec(hub.netns, `nft list chain ip meshisp postrouting`)).stdout, /masquerade/);
    },
    async cut(name, kind) {
      // Closing (Ctrl-C) restores every cut: none may be made after it began.
      if (closed) throw new Interrupted();
      await run(`cut ${name}'s ${kind}`, cuts.command(hostOf(name), kind, true));
      cutNow.add(`${name} ${kind}`);
    },
    async restore(name, kind) {
      await run(`restore ${name}'s ${kind}`, cuts.command(hostOf(name), kind, false));
      cutNow.delete(`${name} ${kind}`);
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const key of [...cutNow]) {
        const [name, kind] = key.split(" ") as [string, CutKind];
        await access.restore(name, kind).catch(() => undefined);
      }
      if (cuts.teardown) await netnsExec(cuts.teardown.netns, cuts.teardown.cmd);
      if (webPid > 0) {
        try {
          process.kill(webPid);
        } catch {
          // Already gone.
        }
      }
    },
  };
  return access;
}
