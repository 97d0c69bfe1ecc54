// What the routing role derives from the inventory: the hub, the uplinks and their tunnels, the community's sources.
import { varsOf, type HostContext } from "../../lib/play.ts";
import type { Host } from "../../lib/inventory/types.ts";
import { UserError } from "../../lib/errors.ts";
import type { RoutingVars } from "./defaults.ts";
import { tunnelPair, uplinkNumber } from "./tunnel.ts";

export type Vars = RoutingVars & Record<string, unknown>;

export const hubOf = (ctx: HostContext): Host => {
  const hub = ctx.inventory.hosts.find((h) => h.group === "hub" && h.meshIp);
  if (!hub)
    throw new UserError(
      `the inventory ${ctx.inventory.file} has no hub with a mesh IP: uplinks route the hub's traffic`,
    );
  return hub;
};

export interface UplinkRoute {
  name: string;
  meshIp: string;
  upMbit: number;
  downMbit: number;
  tunnels: ReturnType<typeof tunnelPair>;
  probeTable: number;
}

/** Uplinks in the inventory with a mesh IP (an uplink enrolled later appears here on the next run). */
export function uplinksOf(ctx: HostContext, hubIp: string): UplinkRoute[] {
  const v = ctx.vars as Vars;
  return ctx.inventory.hosts
    .filter((h) => h.group === "uplinks" && h.meshIp)
    .map((h) => {
      const bw = (varsOf(ctx, h).bandwidth ?? {}) as { up_mbit?: number; down_mbit?: number };
      return {
        name: h.name,
        meshIp: h.meshIp!,
        upMbit: bw.up_mbit ?? 0,
        downMbit: bw.down_mbit ?? 0,
        tunnels: tunnelPair(hubIp, h.meshIp!, v),
        probeTable: v.routing_probe_table_base + uplinkNumber(h.meshIp!).n,
      };
    });
}

/** Sources whose internet traffic the uplinks carry: the hub's LAN and the mesh clients. */
export function communitySources(hub: Host, v: Vars): string[] {
  const lan = (v.lan_subnet as string | undefined) ?? (hub.vars.lan_subnet as string | undefined);
  return [...(lan ? [lan] : []), ...v.routing_client_ranges];
}
