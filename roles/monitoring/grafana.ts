// Grafana for the volunteer coordinators: provisioning files, a compose file of its own, and the container kept up.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sh } from "../../lib/command.ts";
import { directory } from "../../lib/resources/directory.ts";
import { guardedCommand } from "../../lib/resources/command.ts";
import { file } from "../../lib/resources/file.ts";
import type { Handler, Resource } from "../../lib/resources/resource.ts";
import { renderTemplate, TEMPLATES_DIR } from "../../lib/template.ts";
import type { HostContext } from "../../lib/play.ts";
import { dockerSourceVars } from "../docker/defaults.ts";
import type { MonitoringVars } from "./defaults.ts";
import { scrapeAddress } from "./targets.ts";

const GRAFANA_CONTAINER = "meshisp-grafana";
/** Its own compose project, apart from the docker role's stack. */
const PROJECT = "meshisp-monitoring";

/** Grafana runs where asked and where the docker role runs the engine. */
export const grafanaRuns = (ctx: HostContext, v: MonitoringVars) =>
  v.monitoring_grafana && ctx.vars.docker_enabled === true;

/** The docker role's compose command for its source (docker-compose 1.29 from Debian, or `docker compose`). */
const composeCommand = (ctx: HostContext): string[] => [
  ...dockerSourceVars[(ctx.vars.docker_source as "debian" | "docker" | undefined) ?? "debian"].compose,
  "-p",
  PROJECT,
];
export const DASHBOARD_FILE = join(TEMPLATES_DIR, "monitoring/grafana/mesh-overview.json");

/** Prometheus as Grafana (on the host's network) reaches it. */
const datasourceUrl = (v: MonitoringVars) => `http://${scrapeAddress(v.monitoring_prometheus_listen)}`;

export function renderGrafana(v: MonitoringVars) {
  return {
    compose: renderTemplate("monitoring/grafana/compose.yml.hbs", {
      image: v.monitoring_grafana_image,
      port: v.monitoring_grafana_port,
      dir: v.monitoring_grafana_dir,
    }),
    datasource: renderTemplate("monitoring/grafana/datasource.yml.hbs", {
      url: datasourceUrl(v),
      scrape_interval: v.monitoring_scrape_interval,
    }),
    provider: readFileSync(join(TEMPLATES_DIR, "monitoring/grafana/dashboards.yml"), "utf8"),
    dashboard: readFileSync(DASHBOARD_FILE, "utf8"),
  };
}

export function grafanaFiles(ctx: HostContext, v: MonitoringVars): Resource[] {
  const dir = v.monitoring_grafana_dir;
  const g = renderGrafana(v);
  const notify = grafanaRuns(ctx, v) ? [RECREATE_GRAFANA] : [];
  return [
    directory({ path: dir }),
    directory({ path: `${dir}/provisioning` }),
    directory({ path: `${dir}/provisioning/datasources` }),
    directory({ path: `${dir}/provisioning/dashboards` }),
    directory({ path: `${dir}/dashboards` }),
    file({ path: `${dir}/compose.yml`, content: g.compose, notify }),
    file({ path: `${dir}/provisioning/datasources/prometheus.yml`, content: g.datasource, notify }),
    file({ path: `${dir}/provisioning/dashboards/meshisp.yml`, content: g.provider, notify }),
    // Grafana re-reads dashboard files by itself (updateIntervalSeconds).
    file({ path: `${dir}/dashboards/mesh-overview.json`, content: g.dashboard }),
  ];
}

const RECREATE_GRAFANA = "recreate grafana";

/** Starts the container unless Docker reports it running. */
export const grafanaUp = (ctx: HostContext, v: MonitoringVars): Resource =>
  guardedCommand({
    name: "Run Grafana",
    command: sh`cd ${v.monitoring_grafana_dir} && ${composeCommand(ctx)} up -d`,
    unless: sh`[ "$(docker inspect -f ${"{{.State.Running}}"} ${GRAFANA_CONTAINER} 2>/dev/null)" = true ]`,
  });

export const grafanaHandler = (ctx: HostContext, v: MonitoringVars): Handler => ({
  name: RECREATE_GRAFANA,
  command: sh`cd ${v.monitoring_grafana_dir} && ${composeCommand(ctx)} up -d --force-recreate`,
});
