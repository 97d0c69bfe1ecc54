// Failover test access to the live mesh: this machine is the device on the hub's LAN; the hub and the uplink routers
// are reached over SSH like every playbook does; a cut is an nftables drop on the uplink router of the mesh's traffic
// leaving its WAN (removed afterwards).
import { raw, sh } from "../../lib/command.ts";
import { routingDefaults } from "../../roles/routing/defaults.ts";
import type { Inventory } from "../../lib/inventory/types.ts";
import { Session } from "../../lib/runner/session.ts";
import { counterAfter, runLocal, type FailoverAccess, type UplinkInfo } from "./access.ts";

const CUT_TABLE = "meshisp_failover_test";

export function liveAccess(inventory: Inventory, uplinks: UplinkInfo[], options: { url: string; pingTarget: string }): FailoverAccess {
  const session = new Session(inventory, { output: "silent" });
  const hub = inventory.hosts.find((h) => h.group === "hub");
  if (!hub) throw new Error(`${inventory.file} has no hub`);
  const hostOf = (name: string) => inventory.hosts.find((h) => h.name === name)!;
  // Only constant text and names the inventory schema restricts to [A-Za-z0-9-] go into these commands.
  const on = async (name: string, cmd: string) => (await session.connect(hostOf(name))).run(raw(cmd));
  const cutNow = new Set<string>();
  return {
    describe: `live mesh (${inventory.file})`,
    uplinks,
    table: Number(hub.vars.routing_table ?? 100),
    hasBackup: !!hub.vars.routing_backup,
    pingTarget: options.pingTarget,
    url: options.url,
    lan: (cmd) => runLocal(["sh", "-c", cmd]),
    hub: (cmd) => on(hub.name, cmd),
    async uplinkFlows(name) {
      return counterAfter((await on(name, "nft list chain ip meshisp postrouting")).stdout, /masquerade/);
    },
    async backupFlows() {
      return counterAfter((await on(hub.name, "nft list chain ip meshisp postrouting")).stdout, /masquerade/);
    },
    async cut(name) {
      cutNow.add(name);
      // The mesh's traffic arrives on the uplink's end of its tunnel to the hub (the routing role's routing_uplink_tunnel).
      // A table of our own is enough to cut beside fw4: every base chain on the hook must pass a packet, so a drop in
      // any one of them is final (an accept there would not get past fw4's chains: fw4-unzoned-interface.md). fw4's
      // reload replaces only inet fw4 and leaves this table alone; `/etc/init.d/firewall stop` would flush it.
      const tunnel = (hostOf(name).vars.routing_uplink_tunnel as string | undefined) ?? routingDefaults.routing_uplink_tunnel;
      const out = await (await session.connect(hostOf(name))).run(
        sh`nft add table ip ${CUT_TABLE} && nft add chain ip ${CUT_TABLE} forward '{ type filter hook forward priority -5; }' && nft add rule ip ${CUT_TABLE} forward iifname ${tunnel} drop`,
      );
      if (out.code !== 0) throw new Error(`could not cut ${name}: ${out.stderr.trim()}`);
    },
    async restore(name) {
      const out = await on(name, `nft delete table ip ${CUT_TABLE}`);
      if (out.code !== 0) throw new Error(`could not restore ${name}: ${out.stderr.trim()} (remove it by hand: nft delete table ip ${CUT_TABLE})`);
      cutNow.delete(name);
    },
    async close() {
      for (const name of [...cutNow]) await this.restore(name);
      await session.close();
    },
  };
}
