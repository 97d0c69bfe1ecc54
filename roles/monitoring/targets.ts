// Prometheus targets from the inventory, as file service discovery groups: one file per job, rewritten on enrollment.
import type { Host, Inventory } from "../../lib/inventory/types.ts";
import { inboundRules, nodeTypeOf } from "../nebula/node-types.ts";
import { nebulaDefaults } from "../nebula/defaults.ts";
import { monitoringDefaults } from "./defaults.ts";

/** One entry of a file_sd JSON file. */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

export type ScrapeJob = "nebula" | "node" | "failover" | "hub-services";
export const SCRAPE_JOBS: readonly ScrapeJob[] = ["nebula", "node", "failover", "hub-services"];

/** A host's effective vars as the run computes them (lib/play.ts varsOf); plain host vars where no run is given. */
export type VarsOf = (h: Host) => Record<string, unknown>;
const ownVars: VarsOf = (h) => h.vars;

/** A host's effective var, else the role's default. */
const varOfHost = <T>(vars: VarsOf, h: Host, key: string, fallback: T): T =>
  (vars(h)[key] as T | undefined) ?? fallback;

/** The hub scrapes through the tunnel, so a node's Nebula firewall must let the hub in on that TCP port. */
export function hubMayReach(h: Host, port: number, vars: VarsOf = ownVars): boolean {
  const type = nodeTypeOf(h);
  if (type === "lighthouse") return true;
  return inboundRules(type, varOfHost(vars, h, "nebula_stats_port", nebulaDefaults.nebula_stats_port)).some(
    (r) =>
      (r.proto === "tcp" || r.proto === "any") &&
      (r.port === "any" || Number(r.port) === port) &&
      (r.host === "any" || !!r.groups?.includes("hub")),
  );
}

const nodeLabels = (h: Host) => ({ node: h.name, node_type: nodeTypeOf(h), group: h.group });

export interface HubTargetVars {
  monitoring_failover_port: number;
  monitoring_prometheus_listen: string;
  monitoring_alertmanager_listen: string;
  monitoring_grafana: boolean;
  monitoring_grafana_port: number;
  monitoring_service_targets: { name: string; target: string; path?: string }[];
  /** Grafana runs only on a hub with Docker (see grafana.ts). */
  docker_enabled?: unknown;
}

/** A listen address as a client on the hub dials it: 0.0.0.0 (or no address) is reached on loopback. */
export const scrapeAddress = (listen: string) => listen.replace(/^(0\.0\.0\.0|\[::\]|):/, "127.0.0.1:");

/** Every job's targets, sorted by node so a file changes only when the mesh does. */
export function scrapeTargets(
  inventory: Inventory,
  hub: HubTargetVars,
  vars: VarsOf = ownVars,
): Record<ScrapeJob, TargetGroup[]> {
  const varOf = <T>(h: Host, key: string, fallback: T): T => varOfHost(vars, h, key, fallback);
  const meshHosts = inventory.hosts.filter((h) => h.meshIp).sort((a, b) => a.name.localeCompare(b.name));
  const nebula = meshHosts
    .filter((h) => hubMayReach(h, varOf(h, "nebula_stats_port", nebulaDefaults.nebula_stats_port), vars))
    .map((h) => ({
      targets: [`${h.meshIp}:${varOf(h, "nebula_stats_port", nebulaDefaults.nebula_stats_port)}`],
      labels: nodeLabels(h),
    }));
  const node = meshHosts
    .filter((h) => varOf(h, "monitoring_node_exporter", monitoringDefaults.monitoring_node_exporter) !== false)
    .filter(
      (h) =>
        h.os !== "openwrt" ||
        varOf(h, "monitoring_openwrt_exporter", monitoringDefaults.monitoring_openwrt_exporter) !== false,
    )
    .filter((h) =>
      hubMayReach(h, varOf(h, "monitoring_node_exporter_port", monitoringDefaults.monitoring_node_exporter_port), vars),
    )
    .map((h) => ({
      targets: [
        `${h.meshIp}:${varOf(h, "monitoring_node_exporter_port", monitoringDefaults.monitoring_node_exporter_port)}`,
      ],
      labels: nodeLabels(h),
    }));
  const theHub = inventory.hosts.find((h) => h.group === "hub");
  const hubName = theHub?.name ?? "hub";
  const failover = theHub?.meshIp
    ? [
        {
          targets: [`${theHub.meshIp}:${hub.monitoring_failover_port}`],
          labels: { node: hubName, service: "failover-checker" },
        },
      ]
    : [];
  const services: TargetGroup[] = [
    { targets: [scrapeAddress(hub.monitoring_prometheus_listen)], labels: { node: hubName, service: "prometheus" } },
    {
      targets: [scrapeAddress(hub.monitoring_alertmanager_listen)],
      labels: { node: hubName, service: "alertmanager" },
    },
    ...(hub.monitoring_grafana && hub.docker_enabled === true
      ? [{ targets: [`127.0.0.1:${hub.monitoring_grafana_port}`], labels: { node: hubName, service: "grafana" } }]
      : []),
    ...hub.monitoring_service_targets.map((s) => ({
      targets: [s.target],
      labels: { node: hubName, service: s.name, ...(s.path ? { __metrics_path__: s.path } : {}) },
    })),
  ];
  return { nebula, node, failover, "hub-services": services };
}

/** The file's content: stable JSON, one group per line's worth of indentation. */
export const targetsFile = (groups: TargetGroup[]): string => `${JSON.stringify(groups, null, 2)}\n`;
