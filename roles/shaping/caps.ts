// The caps an uplink's vars ask for: mesh download on the Nebula device's egress, mesh upload on the IFB its ingress goes to.
//
// What each cap spends of the volunteer's line (community/member-agreement.md, "How your share is counted"). The caps
// count what nebula1 carries: the community's packets inside the tunnel to the hub, VXLAN header included, which is a
// little more than the same packets take on the line, so the line never carries more than the cap.
// - Tunnel on the radio (a home with an antenna: Nebula dials the hub's radio address): a download comes in once on
//   the line's download and goes to the hub over the radio; an upload comes over the radio and goes out once on the
//   line's upload. Each cap spends its own direction only (and TCP's ACKs, about 3%, the other way). Measured in the
//   pilot lab (test/lab/shaping.test.ts): a capped download (45.7 Mbit/s under
//   a 50 Mbit cap) crossed the router's WAN 1.01 times its bytes in, 0.01 out; the radio carried it 1.19 times.
// - Tunnel over the line itself (a remote uplink, no radio): a download comes in on the line's download and leaves
//   again, inside the tunnel, on its upload (about 15% more: VXLAN in Nebula in UDP); an upload comes in inside the
//   tunnel on the download and leaves on the upload. Each cap then spends its direction and about as much of the
//   other: the volunteer lends both figures for each, and the installer agrees them with that in mind. Measured: a
//   capped download (4.6 Mbit/s under 5) crossed the router's WAN 2.47 times its bytes: 1.18 in, 1.30 out (the
//   retransmissions of what the cap dropped come in again).
import type { HostContext } from "../../lib/play.ts";
import { UserError } from "../../lib/errors.ts";
import type { LeafChoice } from "../../lib/resources/tc-htb.ts";
import { shapingDefaults } from "./defaults.ts";

interface DirectionCap {
  /** The device whose egress carries this direction. */
  device: string;
  rateBit: number;
  leaf: LeafChoice;
}

export interface UplinkShaping {
  meshDevice: string;
  ifbDevice: string;
  /** Internet -> this uplink -> hub: the volunteer's download (on a remote uplink also their upload), leaving through the Nebula device. */
  download: DirectionCap;
  /** Hub -> this uplink -> internet: the volunteer's upload (on a remote uplink also their download), arriving on the Nebula device (shaped on the IFB). */
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
const fifoLimit = (rateBit: number, v: typeof shapingDefaults): number =>
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
