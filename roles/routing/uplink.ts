// An uplink's part of routing (forwarding itself is the base role's): the tunnel to the hub, masquerade of the mesh's traffic out of its WAN,
// routes back to the hub's LAN and the mesh clients, and nothing from the mesh into the volunteer's home.
import { sh } from "../../lib/command.ts";
import { varsOf, type HostContext, type Role } from "../../lib/play.ts";
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
import { fw4IncludeResources, meshAdmission, RELOAD_FW4 } from "./fw4.ts";

function uplinkTasks(ctx: HostContext): Resource[] {
  const v = { ...ctx.vars, ...routingOsVars(ctx.facts) } as Vars & ReturnType<typeof routingOsVars>;
  const hub = hubOf(ctx);
  const t = tunnelPair(hub.meshIp!, ctx.host.meshIp!, v).uplink;
  const mss = v.routing_tunnel_mtu - 40;
  const back = communitySources(hub, { ...v, lan_subnet: varsOf(ctx, hub).lan_subnet });
  const network = [
    tunnel({
      ...t,
      name: `Tunnel to the hub (${t.dev}, ${t.remote})`,
      routes: back.map((dst) => ({ table: "main", dst, gateway: t.peer, dev: t.dev })),
    }),
    nftTable({
      family: "ip",
      name: "meshisp",
      body: renderTemplate("routing/uplink.nft.hbs", {
        dev: t.dev,
        forbidden: v.routing_uplink_forbidden,
        mss,
        mss_above: mss + 1,
      }),
    }),
  ];
  return [
    packages({ names: v.routing_packages, os: ctx.os }),
    ...network,
    ...bootResources(network, ctx.facts.init, (v.nebula_service as string | undefined) ?? "nebula-mesh"),
    ...(ctx.os === "openwrt" ? fw4IncludeResources(meshAdmission(ctx, hub.meshIp!, t, back, hub)) : []),
  ];
}

export const routingUplinkRole: Role = {
  name: "routing",
  defaults: routingDefaults,
  tasks: uplinkTasks,
  // fw4 reads its includes when it loads. `fw4 reload` replaces only table inet fw4, so table ip meshisp stays; never
  // `/etc/init.d/firewall stop` or `fw4 flush`, which delete every table. Routers without fw4 have nothing to reload.
  handlers: () => [{ name: RELOAD_FW4, command: sh`if command -v fw4 >/dev/null; then fw4 reload; fi` }],
};
