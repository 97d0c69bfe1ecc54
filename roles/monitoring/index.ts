// The monitoring role: a node exporter on every mesh node; on the hub, Prometheus, Alertmanager and Grafana's files.
import { varsOf, type HostContext, type Role } from "../../lib/play.ts";
import { monitoringDefaults, type MonitoringVars } from "./defaults.ts";
import { exporterHandlers, exporterTasks } from "./exporter.ts";
import { serverHandlers, serverTasks } from "./server.ts";
import { hubMayReach } from "./targets.ts";

const isHub = (group: string) => group === "hub";

/** The native exporter, unless the host opts out, the hub cannot reach it, its OS's feed has none, or the Docker stack runs one on the same port. */
function wantsExporter(ctx: HostContext, v: MonitoringVars): boolean {
  if (!ctx.host.meshIp || v.monitoring_node_exporter === false) return false;
  // Not where the node's Nebula firewall keeps the hub out (relays, clients): it would never be scraped.
  if (!hubMayReach(ctx.host, v.monitoring_node_exporter_port, (h) => varsOf(ctx, h))) return false;
  if (ctx.os === "openwrt") return v.monitoring_openwrt_exporter !== false;
  return ctx.vars.docker_enabled !== true;
}

export const monitoringRole: Role = {
  name: "monitoring",
  defaults: monitoringDefaults,
  tasks(ctx) {
    const v = ctx.vars as MonitoringVars;
    return [
      ...(wantsExporter(ctx, v) ? exporterTasks(ctx, v) : []),
      ...(isHub(ctx.host.group) ? serverTasks(ctx, v) : []),
    ];
  },
  handlers(ctx) {
    const v = ctx.vars as MonitoringVars;
    return [
      ...(wantsExporter(ctx, v) ? exporterHandlers(ctx) : []),
      ...(isHub(ctx.host.group) ? serverHandlers(ctx, v) : []),
    ];
  },
};
