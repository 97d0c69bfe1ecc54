// A mesh client's part of routing: when it sends its internet through the hub (client_internet_via_mesh), host routes
// keep Nebula's own UDP to the hub and the relays' forwarders on the client's real default gateway, and a policy rule on
// Nebula's listen port does the same for peers at addresses only Nebula learns (a hub behind CGNAT).
import type { Role } from "../../lib/play.ts";
import { UserError } from "../../lib/errors.ts";
import { nebulaDefaults } from "../nebula/defaults.ts";
import { isIpv4 } from "../../lib/pki/cidr.ts";
import { endpointAddress, meshPeers } from "../nebula/endpoints.ts";
import { routingDefaults } from "./defaults.ts";
import { bootResources } from "./boot.ts";
import { underlayRoutes } from "./underlay.ts";
import { underlayRule } from "./underlay-rule.ts";
import { nodeListenPort } from "../nebula/client-internet.ts";

export const routingClientRole: Role = {
  name: "routing",
  defaults: routingDefaults,
  tasks(ctx) {
    const v = ctx.vars;
    const on = v.client_internet_via_mesh === true;
    const port = (v.nebula_port as number | undefined) ?? nebulaDefaults.nebula_port;
    const forward = (v.nebula_relay_forward_port as number | undefined) ?? nebulaDefaults.nebula_relay_forward_port;
    const endpoints = on
      ? meshPeers(ctx.inventory, ctx.host, port, forward).flatMap((l) => l.endpoints.map(endpointAddress))
      : [];
    const named = endpoints.find((e) => !isIpv4(e));
    if (named)
      throw new UserError(
        `${ctx.host.name}: the mesh endpoint ${named} is a name, and a client whose internet goes through the mesh needs a host route to it`,
        "set nebula_public_address of the hub (and relays) to an IPv4 address",
      );
    // Always planned: a client that opts out loses the routes it no longer needs. A reboot forgets them: the boot
    // service puts them back (after Nebula, which retries its handshakes until the underlay works again).
    const routes = underlayRoutes({
      name: "Keep Nebula's underlay on the real default gateway",
      endpoints,
      host: ctx.host.name,
    });
    const nebulaService = (v.nebula_service as string | undefined) ?? nebulaDefaults.nebula_service;
    // And whatever the inventory cannot know (a hub behind CGNAT, at its carrier's address): by Nebula's own source port.
    const rule = underlayRule({
      name: "Keep Nebula's own UDP on the real default gateway",
      port: on ? nodeListenPort("client", { ...nebulaDefaults, ...v }) : null,
    });
    return on ? [routes, rule, ...bootResources([routes, rule], ctx.facts.init, nebulaService)] : [routes, rule];
  },
};
