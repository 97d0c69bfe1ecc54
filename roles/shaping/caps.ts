// The caps an uplink's vars ask for: mesh download on the Nebula device's egress, mesh upload on the IFB its ingress goes to.
import type { HostContext } from "../../lib/play.ts";
import { UserError } from "../../lib/errors.ts";
import type { LeafChoice } from "../../lib/resources/tc-htb.ts";
import { shapingDefaults } from "./defaults.ts";

export interface DirectionCap {
  /** The device whose egress carries this direction. */
  device: string;
  rateBit: number;
  leaf: LeafChoice;
}

export interface UplinkShaping {
  meshDevice: string;
  ifbDevice: string;
  /** Internet -> this uplink -> hub: the volunteer's download, leaving through the Nebula device. */
  download: DirectionCap;
  /** Hub -> this uplink -> internet: the volunteer's upload, arriving on the Nebula device (shaped on the IFB). */
  upload: DirectionCap;
  vars: typeof shapingDefaults;
}

const mbit = (ctx: HostContext, key: "up_mbit" | "down_mbit"): number => {
  const bandwidth = ctx.vars.bandwidth as Record<string, unknown> | undefined;
  const value = bandwidth?.[key];
  if (typeof value !== "number" || !(value > 0)) {
    throw new UserError(
      `${ctx.host.name} (${ctx.host.source}): bandwidth.${key} is ${value === undefined ? "missing" : JSON.stringify(value)}: the mesh may use only what the volunteer donated`,
      "set bandwidth: { up_mbit, down_mbit } in the uplinks group vars or the host's vars (Mbit/s, more than 0)",
    );
  }
  return value;
};

/** A fifo holding `shaping_fifo_ms` at the cap, in packets of Nebula's MTU. */
export const fifoLimit = (rateBit: number, v: typeof shapingDefaults): number =>
  Math.max(v.shaping_fifo_min_packets, Math.ceil((rateBit * v.shaping_fifo_ms) / 1000 / 8 / v.shaping_packet_bytes));

export function uplinkShaping(ctx: HostContext): UplinkShaping {
  const v = ctx.vars as typeof shapingDefaults & Record<string, unknown>;
  const direction = (device: string, rateMbit: number): DirectionCap => {
    const rateBit = Math.round(rateMbit * 1e6);
    return { device, rateBit, leaf: { preferred: v.shaping_leaf_qdiscs, fifoLimit: fifoLimit(rateBit, v) } };
  };
  return {
    meshDevice: v.shaping_mesh_device,
    ifbDevice: v.shaping_ifb_device,
    download: direction(v.shaping_mesh_device, mbit(ctx, "down_mbit")),
    upload: direction(v.shaping_ifb_device, mbit(ctx, "up_mbit")),
    vars: v,
  };
}
