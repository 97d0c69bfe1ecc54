// The hub's part of routing: a tunnel to every uplink, policy routing of the community's traffic, the health checker
// (failover and backup tier) with its metrics, and QoS classes on the LAN and the tunnels.
import { quote } from "../../lib/command.ts";
import type { HostContext, Role } from "../../lib/play.ts";
import { directory } from "../../lib/resources/directory.ts";
import { file } from "../../lib/resources/file.ts";
import { packages } from "../../lib/resources/package.ts";
import { restartHandler, service } from "../../lib/resources/service.ts";
import { sysctl } from "../../lib/resources/sysctl.ts";
import type { Resource } from "../../lib/resources/resource.ts";
import { renderTemplate } from "../../lib/template.ts";
import { routingDefaults } from "./defaults.ts";
import { routingOsVars } from "./os.ts";
import { CLASS_SHARES, htb, lanHtb } from "./qos.ts";
import { bootResources } from "./boot.ts";
import { nftTable } from "../../lib/resources/nft-table.ts";
import { policyRules, staleTunnels, tunnel } from "./resources.ts";
import { communitySources, uplinksOf, type Vars } from "./settings.ts";

const FAILOVER_SERVICE = "meshisp-failover";
const METRICS_SERVICE = "meshisp-metrics";
const METRICS_DIR = "/run/meshisp/metrics";

function qosClasses(v: Vars) {
  const by = {
    emergency: [v.routing_qos_emergency_dscp, v.routing_qos_emergency_ports],
    interactive: [v.routing_qos_interactive_dscp, v.routing_qos_interactive_ports],
    bulk: [v.routing_qos_bulk_dscp, v.routing_qos_bulk_ports],
  } as const;
  // Later rules win: bulk, then interactive, then emergency.
  return (["bulk", "interactive", "emergency"] as const).map((name) => ({
    id: `1:${CLASS_SHARES.find((c) => c.name === name)!.id}`,
    dscp: by[name][0],
    ports: by[name][1],
  }));
}

function hubTasks(ctx: HostContext): Resource[] {
  const v = { ...ctx.vars, ...routingOsVars(ctx.facts) } as Vars & ReturnType<typeof routingOsVars>;
  const hubIp = ctx.host.meshIp!;
  const uplinks = uplinksOf(ctx, hubIp);
  const sources = communitySources(ctx.host, v);
  const lan = v.lan_subnet as string | undefined;
  const dir = (v.hub_state_dir as string | undefined) ?? "/etc/meshisp";
  const p = v.routing_rule_priority;
  const restart = [`restart ${FAILOVER_SERVICE}`];
  const systemd = ctx.facts.init === "systemd";
  const backup = v.routing_backup;
  const mss = v.routing_tunnel_mtu - 40;
  const listen = `${hubIp}:${v.routing_metrics_port}`;
  const unitVars = {
    dir,
    metrics_dir: METRICS_DIR,
    listen,
    busybox: v.routing_busybox,
    nebula_service: (v.nebula_service as string | undefined) ?? "nebula-mesh",
  };
  const conf = {
    table: v.routing_table,
    transfer_prefix: quote(v.routing_transfer_prefix),
    probe_target: quote(v.routing_probe_target),
    interval: quote(String(v.routing_probe_interval)),
    timeout: quote(String(v.routing_probe_timeout)),
    down_after: v.routing_down_after,
    up_after: v.routing_up_after,
    backup_dev: quote(backup?.device ?? ""),
    backup_gw: quote(backup?.gateway ?? ""),
    metrics_dir: METRICS_DIR,
    sources: quote(sources.join(" ")),
  };
  const lanKbit = (v.routing_qos_lan_mbit || uplinks.reduce((s, u) => s + u.downMbit, 0) || 100) * 1000 * 0.95;
  const qos = v.routing_qos
    ? [
        ...(v.routing_lan_device ? [htb(v.routing_lan_device, lanKbit)] : lan ? [lanHtb(lan, lanKbit)] : []),
        ...uplinks.filter((u) => u.upMbit > 0).map((u) => htb(u.tunnels.hub.dev, u.upMbit * 1000 * 0.95)),
      ]
    : [];
  const network: Resource[] = [
    ...uplinks.map((u) =>
      tunnel({
        ...u.tunnels.hub,
        name: `Tunnel to ${u.name} (${u.tunnels.hub.dev}, ${u.meshIp})`,
        routes: [{ table: String(u.probeTable), dst: "default", gateway: u.tunnels.hub.peer, dev: u.tunnels.hub.dev }],
      }),
    ),
    policyRules({
      name: "Route the community's internet traffic through the uplinks' table",
      owned: [p, p + 20],
      rules: [
        ...uplinks.map((u) => ({
          priority: p,
          from: `${u.tunnels.hub.address.split("/")[0]}/32`,
          table: String(u.probeTable),
        })),
        ...sources.flatMap((s) => [
          { priority: p + 10, from: s, table: "main", suppressDefault: true },
          { priority: p + 11, from: s, table: String(v.routing_table) },
        ]),
      ],
    }),
    nftTable({
      family: "ip",
      name: "meshisp",
      body: renderTemplate("routing/hub.nft.hbs", {
        sources,
        backup: backup && backup.masquerade !== false ? backup : null,
        mss,
        mss_above: mss + 1,
        classes: qosClasses(v),
      }),
    }),
    ...qos,
  ];
  return [
    packages({ names: v.routing_packages, os: ctx.os }),
    // Forwarding is the base role's. Per-flow hashing keeps a connection on one uplink; replies come back on a tunnel
    // the main table would not pick, so reverse-path filtering is loose. One file per key: the sysctl resources of a
    // run each plan from the file as it was before the run.
    sysctl({ key: "net.ipv4.fib_multipath_hash_policy", value: 1, file: "/etc/sysctl.d/91-meshisp-multipath.conf" }),
    sysctl({ key: "net.ipv4.conf.all.rp_filter", value: 2, file: "/etc/sysctl.d/91-meshisp-rp-filter.conf" }),
    ...network,
    staleTunnels(uplinks.map((u) => u.tunnels.hub.dev)),
    ...bootResources(network, ctx.facts.init, unitVars.nebula_service),
    directory({ path: dir, mode: "0755" }),
    file({ path: `${dir}/routing.conf`, content: renderTemplate("routing/routing.conf.hbs", conf), notify: restart }),
    file({
      path: "/usr/sbin/meshisp-failover",
      content: renderTemplate("routing/failover.sh.hbs", {}),
      mode: "0755",
      notify: restart,
    }),
    directory({ path: METRICS_DIR, mode: "0755" }),
    systemd
      ? file({
          path: `/etc/systemd/system/${FAILOVER_SERVICE}.service`,
          content: renderTemplate("routing/failover.service.hbs", unitVars),
          notify: restart,
        })
      : file({
          path: `/etc/init.d/${FAILOVER_SERVICE}`,
          content: renderTemplate("routing/failover.init.hbs", unitVars),
          mode: "0755",
          notify: restart,
        }),
    systemd
      ? file({
          path: `/etc/systemd/system/${METRICS_SERVICE}.service`,
          content: renderTemplate("routing/metrics.service.hbs", unitVars),
          notify: [`restart ${METRICS_SERVICE}`],
        })
      : file({
          path: `/etc/init.d/${METRICS_SERVICE}`,
          content: renderTemplate("routing/metrics.init.hbs", unitVars),
          mode: "0755",
          notify: [`restart ${METRICS_SERVICE}`],
        }),
    service({ name: FAILOVER_SERVICE, init: ctx.facts.init }),
    service({ name: METRICS_SERVICE, init: ctx.facts.init }),
  ];
}

export const routingHubRole: Role = {
  name: "routing",
  defaults: routingDefaults,
  tasks: hubTasks,
  handlers: (ctx) => [
    restartHandler(FAILOVER_SERVICE, ctx.facts.init),
    restartHandler(METRICS_SERVICE, ctx.facts.init),
  ],
};
