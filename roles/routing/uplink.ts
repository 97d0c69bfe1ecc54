// An uplink's part of routing (forwarding itself is the base role's): the tunnel to the hub, masquerade of the mesh's traffic out of its WAN,
// routes back to the hub's LAN and the mesh clients, and nothing from the mesh into the volunteer's home.
import { sh } from "../../lib/command.ts";
import type { HostContext, Role } from "../../lib/play.ts";
import { directory } from "../../lib/resources/directory.ts";
import { file } from "../../lib/resources/file.ts";
import { packages } from "../../lib/resources/package.ts";
import type { Resource } from "../../lib/resources/resource.ts";
import { renderTemplate } from "../../lib/template.ts";
import { routingDefaults } from "./defaults.ts";
import { routingOsVars } from "./os.ts";
import { bootResources } from "./boot.ts";
import { nftTable } from "../../lib/resources/nft-table.ts";
import { tunnel } from "./resources.ts";
import { communitySources, hubOf, type Vars } from "./settings.ts";
import { tunnelPair } from "./tunnel.ts";

const FW4_INCLUDE = "/usr/share/nftables.d/chain-pre/forward/30-meshisp.nft";

function uplinkTasks(ctx: HostContext): Resource[] {
  const v = { ...ctx.vars, ...routingOsVars(ctx.facts) } as Vars & ReturnType<typeof routingOsVars>;
  const hub = hubOf(ctx);
  const t = tunnelPair(hub.meshIp!, ctx.host.meshIp!, v).uplink;
  const mss = v.routing_tunnel_mtu - 40;
  const back = communitySources(hub, { ...v, lan_subnet: hub.vars.lan_subnet });
  const network = [
    tunnel({ ...t, name: `Tunnel to the hub (${t.dev}, ${t.remote})`, routes: back.map((dst) => ({ table: "main", dst, gateway: t.peer, dev: t.dev })) }),
    nftTable({ family: "ip", name: "meshisp", body: renderTemplate("routing/uplink.nft.hbs", { dev: t.dev, forbidden: v.routing_uplink_forbidden, mss, mss_above: mss + 1 }) }),
  ];
  return [
    packages({ names: v.routing_packages, os: ctx.os }),
    ...network,
    ...bootResources(network, ctx.facts.init, (v.nebula_service as string | undefined) ?? "nebula-mesh"),
    ...(ctx.os === "openwrt"
      ? [
          directory({ path: FW4_INCLUDE.replace(/\/[^/]+$/, "") }),
          file({ path: FW4_INCLUDE, content: renderTemplate("routing/fw4-forward.nft.hbs", { dev: t.dev }), notify: ["reload fw4"] }),
        ]
      : []),
  ];
}

export const routingUplinkRole: Role = {
  name: "routing",
  defaults: routingDefaults,
  tasks: uplinkTasks,
  // fw4 reads its includes when it loads; routers without fw4 (the lab, older OpenWrt) have nothing to reload.
  handlers: () => [{ name: "reload fw4", command: sh`if command -v fw4 >/dev/null; then fw4 reload; fi` }],
};
