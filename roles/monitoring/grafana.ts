// Grafana for the volunteer coordinators: provisioning files, a compose file of its own, and the container kept up.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sh } from "../../lib/command.ts";
import { directory } from "../../lib/resources/directory.ts";
import { guardedCommand } from "../../lib/resources/command.ts";
import { file } from "../../lib/resources/file.ts";
import type { Resource } from "../../lib/resources/resource.ts";
import { renderTemplate, TEMPLATES_DIR } from "../../lib/template.ts";
import type { MonitoringVars } from "./defaults.ts";

export const GRAFANA_CONTAINER = "meshisp-grafana";
export const DASHBOARD_FILE = join(TEMPLATES_DIR, "monitoring/grafana/mesh-overview.json");

/** Prometheus as Grafana (on the host's network) reaches it. */
export const datasourceUrl = (v: MonitoringVars) => `http://${v.monitoring_prometheus_listen.replace(/^(0\.0\.0\.0|):/, "127.0.0.1:")}`;

export function renderGrafana(v: MonitoringVars) {
  return {
    compose: renderTemplate("monitoring/grafana/compose.yml.hbs", { image: v.monitoring_grafana_image, port: v.monitoring_grafana_port, dir: v.monitoring_grafana_dir }),
    datasource: renderTemplate("monitoring/grafana/datasource.yml.hbs", { url: datasourceUrl(v), scrape_interval: v.monitoring_scrape_interval }),
    provider: readFileSync(join(TEMPLATES_DIR, "monitoring/grafana/dashboards.yml"), "utf8"),
    dashboard: readFileSync(DASHBOARD_FILE, "utf8"),
  };
}

export function grafanaFiles(v: MonitoringVars): Resource[] {
  const dir = v.monitoring_grafana_dir;
  const g = renderGrafana(v);
  const notify = v.monitoring_grafana ? ["recreate grafana"] : [];
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

/** Starts the container unless Docker reports it running. */
export const grafanaUp = (v: MonitoringVars): Resource =>
  guardedCommand({
    name: "Run Grafana",
    command: sh`cd ${v.monitoring_grafana_dir} && ${v.monitoring_compose_command} up -d`,
    unless: sh`[ "$(docker inspect -f ${"{{.State.Running}}"} ${GRAFANA_CONTAINER} 2>/dev/null)" = true ]`,
  });
