// Failover test access to a lab built by scripts/lab: namespaces by name, cuts in the simulated internet (the uplink's
// public address stops being routed), a small web server on the internet services host for new connections.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { quote } from "../../lib/command.ts";
import type { Inventory } from "../../lib/inventory/types.ts";
import { counterAfter, runLocal, type FailoverAccess, type Output, type UplinkInfo } from "./access.ts";

interface SavedHost {
  name: string;
  group: string;
  publicAddress: string;
  netns: string;
  lanAddress?: string;
}

const SERVICES = "198.51.100.10";
const CUT_TABLE = "meshisp_failover_test";

const netnsExec = (netns: string, cmd: string, timeoutMs?: number): Promise<Output> => runLocal(["ip", "netns", "exec", netns, "sh", "-c", cmd], timeoutMs);

/** The lab behind an inventory written by scripts/lab (.lab/<runId>/inventory.yml), or null for any other inventory. */
export async function labAccess(inventory: Inventory, uplinks: UplinkInfo[]): Promise<FailoverAccess | null> {
  const dir = dirname(inventory.file);
  const runId = basename(dir);
  if (!inventory.vars.lab || !existsSync(join(dir, "hosts.json"))) return null;
  const hosts = JSON.parse(readFileSync(join(dir, "hosts.json"), "utf8")) as SavedHost[];
  const hub = hosts.find((h) => h.group === "hub");
  if (!hub?.lanAddress) throw new Error(`lab ${runId}: the hub has no LAN device (give it lan: { subnet })`);
  // The lab's naming plan (scripts/lab/plan.ts): host i has netns <runId>-i and its LAN device <runId>-l<i>.
  const lanNetns = `${runId}-l${hub.netns.split("-").pop()}`;
  const internet = `${runId}-inet`;
  const services = `${runId}-svc`;
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const hubVars = inventory.hosts.find((h) => h.group === "hub")?.vars ?? {};

  // A web server on the services host: every fetch from the LAN is a new TCP connection.
  const www = join(dir, "failover-www");
  mkdirSync(www, { recursive: true });
  writeFileSync(join(www, "index.html"), "ok\n");
  const web = await netnsExec(services, `busybox httpd -f -p ${SERVICES}:8080 -h ${quote(www)} >/dev/null 2>&1 </dev/null & echo $!`);
  const webPid = Number(web.stdout.trim());
  await netnsExec(internet, `nft add table ip ${CUT_TABLE} && nft add set ip ${CUT_TABLE} cut '{ type ipv4_addr; }' && nft add chain ip ${CUT_TABLE} forward '{ type filter hook forward priority -10; }' && nft add rule ip ${CUT_TABLE} forward ip saddr @cut drop && nft add rule ip ${CUT_TABLE} forward ip daddr @cut drop`);
  const publicOf = (name: string) => {
    const h = byName.get(name);
    if (!h) throw new Error(`lab ${runId} has no host ${name}`);
    return h.publicAddress;
  };
  let closed = false;
  return {
    describe: `lab ${runId}`,
    uplinks,
    table: Number(hubVars.routing_table ?? 100),
    hasBackup: !!hubVars.routing_backup,
    pingTarget: SERVICES,
    url: `http://${SERVICES}:8080/`,
    lan: (cmd) => netnsExec(lanNetns, cmd),
    hub: (cmd) => netnsExec(hub.netns, cmd),
    async uplinkFlows(name) {
      const out = await netnsExec(byName.get(name)!.netns, `nft list chain ip meshisp postrouting`);
      return counterAfter(out.stdout, /masquerade/);
    },
    async backupFlows() {
      return counterAfter((await netnsExec(hub.netns, `nft list chain ip meshisp postrouting`)).stdout, /masquerade/);
    },
    async cut(name) {
      await netnsExec(internet, `nft add element ip ${CUT_TABLE} cut '{ ${publicOf(name)} }'`);
    },
    async restore(name) {
      await netnsExec(internet, `nft delete element ip ${CUT_TABLE} cut '{ ${publicOf(name)} }'`);
    },
    async close() {
      if (closed) return;
      closed = true;
      await netnsExec(internet, `nft delete table ip ${CUT_TABLE}`);
      if (webPid > 0) {
        try {
          process.kill(webPid);
        } catch {
          // Already gone.
        }
      }
    },
  };
}
