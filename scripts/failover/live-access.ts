// Failover test access to the live mesh: this machine is the device on the hub's LAN; the hub and the uplink routers
// are reached over SSH like every playbook does. Cuts are nftables drops on the uplink router (removed afterwards):
// its line is cut by dropping the mesh's traffic arriving from its tunnel to the hub (it would leave by the WAN), its
// radio by dropping everything in and out of its `radio_device` (never a link set down: a real radio failure keeps the
// cable's carrier).
import { quote, raw, sh } from "../../lib/command.ts";
import { Interrupted, UserError } from "../../lib/errors.ts";
import { routingDefaults } from "../../roles/routing/defaults.ts";
import type { Inventory } from "../../lib/inventory/types.ts";
import { Session } from "../../lib/runner/session.ts";
import { counterAfter, runLocal, type CutKind, type FailoverAccess, type UplinkInfo } from "./access.ts";

const CUT_TABLE = "meshisp_failover_test";
const RADIO_TABLE = "meshisp_failover_radio";
/** A whole second (BusyBox's sleep) for the cut command's answer to come back before the radio drops. */
const RADIO_DELAY_SECONDS = 1;
/** How long a radio cut lasts unless given: the scenario's longest use (every uplink cut one after another, then the failover limit plus 0.5 s measured). */
export const DEFAULT_RADIO_CUT_SECONDS = 15;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The router's side of a radio cut. The runner reaches a router on the backhaul over the mesh, and so over that very
 * radio: once cut, nothing can reach it to undo the cut. So the router undoes it itself: the script returns at once
 * (its answer crosses the radio first), drops every packet in and out of `device` after `delaySeconds`, and deletes
 * the drop `seconds` later, whatever happens to the connection. `trap '' HUP`: dropbear's session ends before the timer
 * (OpenWrt 23.05's BusyBox has no setsid). A drop in a table of its own is final beside fw4 (see the line cut).
 */
export function radioCutScript(spec: {
  device: string;
  delaySeconds: number;
  seconds: number;
  table?: string;
}): string {
  const t = spec.table ?? RADIO_TABLE;
  const d = JSON.stringify(spec.device);
  const ruleset = [
    `table ip ${t} {`,
    `  chain input { type filter hook input priority -5; iifname ${d} drop; }`,
    `  chain output { type filter hook output priority -5; oifname ${d} drop; }`,
    `  chain forward { type filter hook forward priority -5; iifname ${d} drop; oifname ${d} drop; }`,
    `}`,
  ].join("\n");
  return `( trap '' HUP; sleep ${spec.delaySeconds}; printf '%s\\n' ${quote(ruleset)} | nft -f -; sleep ${spec.seconds}; nft delete table ip ${t} ) </dev/null >/dev/null 2>&1 &`;
}

export function liveAccess(
  inventory: Inventory,
  uplinks: UplinkInfo[],
  options: { url: string; pingTarget: string; radioCutSeconds?: number },
): FailoverAccess {
  const session = new Session(inventory, { output: "silent" });
  const hub = inventory.hosts.find((h) => h.group === "hub");
  if (!hub) throw new Error(`${inventory.file} has no hub`);
  const hostOf = (name: string) => inventory.hosts.find((h) => h.name === name)!;
  // Only constant text and names the inventory schema restricts to [A-Za-z0-9-] go into these commands.
  const on = async (name: string, cmd: string) => (await session.connect(hostOf(name))).run(raw(cmd));
  const radioSeconds = options.radioCutSeconds ?? DEFAULT_RADIO_CUT_SECONDS;
  const cutNow = new Set<string>();
  let closing = false;
  /** When each radio cut ends by itself (this machine's clock, ms). */
  const radioEnds = new Map<string, number>();
  const radioDevice = (name: string) => {
    const dev = hostOf(name).vars.radio_device;
    if (typeof dev !== "string" || !/^[A-Za-z0-9._-]{1,15}$/.test(dev))
      throw new UserError(
        `${inventory.file}: ${name}'s radio_device must be an interface name, got ${JSON.stringify(dev)}`,
      );
    return dev;
  };
  const access: FailoverAccess = {
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
    async cut(name, kind: CutKind) {
      // Closing (Ctrl-C) restores every cut: none may be made after it began.
      if (closing) throw new Interrupted();
      const conn = await session.connect(hostOf(name));
      if (kind === "radio") {
        const out = await conn.run(
          raw(radioCutScript({ device: radioDevice(name), delaySeconds: RADIO_DELAY_SECONDS, seconds: radioSeconds })),
        );
        if (out.code !== 0) throw new Error(`could not cut ${name}'s radio: ${out.stderr.trim()}`);
        const start = Date.now() + RADIO_DELAY_SECONDS * 1000;
        radioEnds.set(name, start + radioSeconds * 1000);
        cutNow.add(`${name} radio`);
        await sleep(start - Date.now());
        return;
      }
      // The mesh's traffic arrives on the uplink's end of its tunnel to the hub (the routing role's routing_uplink_tunnel).
      // A table of our own is enough to cut beside fw4: every base chain on the hook must pass a packet, so a drop in
      // any one of them is final (an accept there would not get past fw4's chains: fw4-unzoned-interface.md). fw4's
      // reload replaces only inet fw4 and leaves this table alone; `/etc/init.d/firewall stop` would flush it.
      const tunnel =
        (hostOf(name).vars.routing_uplink_tunnel as string | undefined) ?? routingDefaults.routing_uplink_tunnel;
      const out = await conn.run(
        sh`nft add table ip ${CUT_TABLE} && nft add chain ip ${CUT_TABLE} forward '{ type filter hook forward priority -5; }' && nft add rule ip ${CUT_TABLE} forward iifname ${tunnel} drop`,
      );
      if (out.code !== 0) throw new Error(`could not cut ${name}'s line: ${out.stderr.trim()}`);
      cutNow.add(`${name} line`);
    },
    async restore(name, kind: CutKind) {
      if (kind === "radio") {
        // Nothing reaches the router before its own timer lifts the cut; then check that it did.
        await sleep((radioEnds.get(name) ?? 0) - Date.now() + 500);
        const out = await on(
          name,
          `nft delete table ip ${RADIO_TABLE} 2>/dev/null; ! nft list table ip ${RADIO_TABLE} >/dev/null 2>&1`,
        );
        if (out.code !== 0)
          throw new Error(`${name}'s radio is still cut (remove it by hand: nft delete table ip ${RADIO_TABLE})`);
        radioEnds.delete(name);
      } else {
        const out = await on(name, `nft delete table ip ${CUT_TABLE}`);
        if (out.code !== 0)
          throw new Error(
            `could not restore ${name}'s line: ${out.stderr.trim()} (remove it by hand: nft delete table ip ${CUT_TABLE})`,
          );
      }
      cutNow.delete(`${name} ${kind}`);
    },
    async close() {
      if (closing) return;
      closing = true;
      for (const key of [...cutNow]) {
        const [name, kind] = key.split(" ") as [string, CutKind];
        await access.restore(name, kind);
      }
      await session.close();
    },
  };
  return access;
}
