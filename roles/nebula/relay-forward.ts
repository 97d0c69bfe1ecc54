// A relay's UDP forwarder to the hub: nodes whose UDP to the hub is blocked reach it through the relay instead.
// Nebula 1.6 cannot reach a lighthouse through a Nebula relay (it never asks for a lighthouse's relays), so the relay
// also forwards its `nebula_relay_forward_port` to the hub's Nebula port; the tunnel stays end to end hub <-> node.
// A hub without an inbound address (Starlink CGNAT) has nothing to forward to: the relay is then a lighthouse, the hub
// reports to it and names it its relay, and Nebula's own relaying replaces the forwarder (endpoints.ts); the table goes.
import { varsOf, type HostContext } from "../../lib/play.ts";
import type { Resource } from "../../lib/resources/resource.ts";
import { nftTable } from "../../lib/resources/nft-table.ts";
import { packages } from "../../lib/resources/package.ts";
import { sysctl } from "../../lib/resources/sysctl.ts";
import { renderTemplate } from "../../lib/template.ts";
import { inboundAddressOf } from "./endpoints.ts";
import { nodeTypeOf } from "./node-types.ts";

export function relayForward(
  ctx: HostContext,
  v: { nebula_port: number; nebula_relay_forward_port: number; nebula_nft_package: string },
): Resource[] {
  const hub = ctx.inventory.hosts.find((h) => nodeTypeOf(h) === "lighthouse");
  const hubAddress = hub ? inboundAddressOf(hub) : null;
  const on = !!hub && !!hubAddress && v.nebula_relay_forward_port > 0;
  const body = on
    ? renderTemplate("nebula/relay-forward.nft.hbs", {
        forward_port: v.nebula_relay_forward_port,
        hub_address: hubAddress,
        hub_port: (varsOf(ctx, hub).nebula_port as number | undefined) ?? v.nebula_port,
      })
    : "";
  return [
    packages({ names: [v.nebula_nft_package], os: ctx.os }),
    ...(on ? [sysctl({ key: "net.ipv4.ip_forward", value: 1 })] : []),
    nftTable({ family: "ip", name: "meshisp_relay", body, absent: !on }),
  ];
}
