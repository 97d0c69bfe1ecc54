// The monitoring role: a node exporter on every mesh node; on the hub, Prometheus, Alertmanager and Grafana's files.
import type { Role } from "../../lib/play.ts";
import { monitoringDefaults, type MonitoringVars } from "./defaults.ts";
import { exporterHandlers, exporterTasks } from "./exporter.ts";
import { serverHandlers, serverTasks } from "./server.ts";

const isHub = (group: string) => group === "hub";
const wantsExporter = (v: MonitoringVars, meshIp: string | undefined) => v.monitoring_node_exporter !== false && !!meshIp;

export const monitoringRole: Role = {
  name: "monitoring",
  defaults: monitoringDefaults,
  tasks(ctx) {
    const v = ctx.vars as MonitoringVars;
    return [...(wantsExporter(v, ctx.host.meshIp) ? exporterTasks(ctx, v) : []), ...(isHub(ctx.host.group) ? serverTasks(ctx, v) : [])];
  },
  handlers(ctx) {
    const v = ctx.vars as MonitoringVars;
    return [...(wantsExporter(v, ctx.host.meshIp) ? exporterHandlers(ctx) : []), ...(isHub(ctx.host.group) ? serverHandlers(ctx, v) : [])];
  },
};
