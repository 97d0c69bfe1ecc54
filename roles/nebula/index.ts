// The nebula role: installs Nebula, gives the node its identity, writes its config and keeps the tunnel running.
import type { HostContext, Role } from "../../lib/play.ts";
import { UserError } from "../../lib/errors.ts";
import { directory } from "../../lib/resources/directory.ts";
import { file } from "../../lib/resources/file.ts";
import { packages } from "../../lib/resources/package.ts";
import { restartHandler, service } from "../../lib/resources/service.ts";
import { renderTemplate } from "../../lib/template.ts";
import { nebulaDefaults } from "./defaults.ts";
import { clientInternetRoutes, hubInternetSubnets, nodeListenPort } from "./client-internet.ts";
import { nebulaIdentity, type CertAuthority, type CertRequest } from "./identity.ts";
import { groupsOf, inboundRules, nodeTypeOf, relaysOf } from "./node-types.ts";
import { isRelayLighthouse, meshPeers, meshTopology, preferredRanges } from "./endpoints.ts";
import { nebulaOsVars } from "./os.ts";
import { relayForward } from "./relay-forward.ts";

/** Everything the templates and tasks need, computed once per host. */
export function nebulaSettings(ctx: HostContext) {
  const v = { ...ctx.vars, ...nebulaOsVars(ctx.facts) } as typeof nebulaDefaults &
    Record<string, unknown> &
    ReturnType<typeof nebulaOsVars>;
  const host = ctx.host;
  if (!host.meshIp)
    throw new UserError(
      `${host.name} (${host.source}) has no mesh IP: only hosts in the hub, relays, uplinks, clients or admins groups join the mesh`,
    );
  const type = nodeTypeOf(host);
  const topology = meshTopology(ctx.inventory);
  const hubRelays = topology.hubIsLighthouse;
  const amLighthouse = type === "lighthouse" ? topology.hubIsLighthouse : isRelayLighthouse(host);
  // The hub relays when it is the lighthouse; behind CGNAT it names the relays as its own (1.6.1 ignores relay.relays
  // on a relay), so that nodes which cannot punch through to it are relayed.
  const amRelay = type === "relay" || (type === "lighthouse" && hubRelays);
  // Lighthouses and relays dial the hub directly; other nodes also get the relays' forwarders as fallback endpoints.
  const peers = meshPeers(
    ctx.inventory,
    host,
    v.nebula_port,
    amLighthouse || amRelay || type === "lighthouse" ? 0 : v.nebula_relay_forward_port,
  );
  const request: CertRequest = {
    name: host.name,
    ip: `${host.meshIp}/16`,
    groups: [...groupsOf(type), ...v.nebula_groups],
    subnets: [...new Set([...v.nebula_subnets, ...hubInternetSubnets(type, ctx.inventory)])],
    days: v.nebula_cert_days,
  };
  return {
    vars: v,
    type,
    request,
    config: {
      ...v,
      host_name: host.name,
      nebula_node_type: type,
      static_hosts: peers.filter((p) => p.endpoints.length > 0),
      lighthouses: amLighthouse ? [] : peers.filter((p) => p.lighthouse),
      am_lighthouse: amLighthouse,
      am_relay: amRelay,
      // A node lists the relays others may use to reach it.
      relays: v.nebula_use_relays && !amRelay ? relaysOf(ctx.inventory, host, hubRelays) : [],
      preferred_ranges: preferredRanges(host, peers),
      use_relays: !!v.nebula_use_relays,
      // The hub keeps its fixed port also behind CGNAT: radio nodes dial it there.
      listen_port: amLighthouse || amRelay || type === "lighthouse" ? v.nebula_port : nodeListenPort(type, v),
      stats_listen: `${host.meshIp}:${v.nebula_stats_port}`,
      unsafe_routes: [...v.nebula_unsafe_routes, ...clientInternetRoutes(type, v, topology.hub.meshIp!)],
      inbound: inboundRules(type, v.nebula_stats_port),
    },
  };
}

export function nebulaRole(ca: CertAuthority): Role {
  return {
    name: "nebula",
    defaults: nebulaDefaults,
    tasks(ctx) {
      const { vars, request, config, type } = nebulaSettings(ctx);
      const dir = vars.nebula_dir;
      const name = vars.nebula_service;
      const restart = [`restart ${name}`];
      const systemd = ctx.facts.init === "systemd";
      return [
        packages({ names: [vars.nebula_package], os: ctx.os }),
        directory({ path: dir, mode: "0700" }),
        file({ path: `${dir}/ca.crt`, content: ca.caCertPem, notify: restart }),
        nebulaIdentity({ dir, ca, request, renewDays: vars.nebula_renew_days, notify: restart }),
        file({
          path: `${dir}/config.yml`,
          content: renderTemplate("nebula/config.yml.hbs", config),
          mode: "0600",
          notify: restart,
        }),
        systemd
          ? file({
              path: `/etc/systemd/system/${name}.service`,
              content: renderTemplate("nebula/nebula.service.hbs", config),
              notify: restart,
            })
          : file({
              path: `/etc/init.d/${name}`,
              content: renderTemplate("nebula/nebula.init.hbs", config),
              mode: "0755",
              notify: restart,
            }),
        service({ name, init: ctx.facts.init }),
        ...(type === "relay" ? relayForward(ctx, vars) : []),
      ];
    },
    handlers: (ctx) => [
      restartHandler((ctx.vars.nebula_service as string) ?? nebulaDefaults.nebula_service, ctx.facts.init),
    ],
  };
}
