// The hub's monitoring: Prometheus with targets and rules from the inventory, Alertmanager, and Grafana's files.
import { UserError } from "../../lib/errors.ts";
import { varsOf, type HostContext } from "../../lib/play.ts";
import { directory } from "../../lib/resources/directory.ts";
import { file } from "../../lib/resources/file.ts";
import { packages } from "../../lib/resources/package.ts";
import type { Handler, Resource } from "../../lib/resources/resource.ts";
import { restartHandler, service } from "../../lib/resources/service.ts";
import { renderTemplate } from "../../lib/template.ts";
import { daemonRunner, reloadHandlerFor } from "./daemon.ts";
import type { MonitoringVars } from "./defaults.ts";
import { grafanaFiles, grafanaHandler, grafanaRuns, grafanaUp } from "./grafana.ts";
import { certificateRules, uplinkRules, type CertRegister } from "./inventory-rules.ts";
import { debianMonitoring } from "./os.ts";
import { SCRAPE_JOBS, scrapeAddress, scrapeTargets, targetsFile } from "./targets.ts";

export const RELOAD_PROMETHEUS = "reload prometheus";
const RESTART_PROMETHEUS = "restart prometheus";
const RELOAD_ALERTMANAGER = "reload alertmanager";
const RESTART_ALERTMANAGER = "restart alertmanager";

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Everything rendered for the hub, also used by the unit tests to check the files with promtool and amtool. */
export function renderHubMonitoring(ctx: HostContext, v: MonitoringVars, register: CertRegister = { issued: [] }) {
  const d = debianMonitoring(ctx.facts.init);
  const targets = scrapeTargets(ctx.inventory, v, (h) => varsOf(ctx, h));
  const uplinks = ctx.inventory.hosts
    .filter((h) => h.group === "uplinks")
    .map((h) => escapeRegex(h.name))
    .sort();
  const alerts = renderTemplate("monitoring/alerts.yml.hbs", {
    ...v,
    terrestrial_regex: uplinks.length ? uplinks.join("|") : "^$",
    cert_warn_seconds: v.monitoring_cert_warn_days * 86400,
    disk_free_percent: Math.round(v.monitoring_disk_free_ratio * 100),
  });
  const prometheus = renderTemplate("monitoring/prometheus.yml.hbs", {
    ...v,
    config_dir: d.configDir,
    mesh_name: v.monitoring_mesh_name,
    alertmanager_target: scrapeAddress(v.monitoring_alertmanager_listen),
    jobs: SCRAPE_JOBS.map((name) => ({ name, file: `${d.configDir}/targets/${name}.json` })),
  });
  const alertmanager = renderTemplate("monitoring/alertmanager.yml.hbs", {
    ...v,
    receivers: ["mesh-team", "mesh-team-urgent"],
    webhook_url: v.monitoring_alert_webhook_url,
    email_to: v.monitoring_alert_email_to,
    email_from: v.monitoring_alert_email_from,
    smarthost: v.monitoring_alert_smarthost,
  });
  return {
    dir: d.configDir,
    prometheus,
    alertmanager,
    alerts,
    inventoryRules: uplinkRules(ctx.inventory, (h) => varsOf(ctx, h)),
    certificateRules: certificateRules(ctx.inventory, register),
    targets: Object.fromEntries(SCRAPE_JOBS.map((job) => [job, targetsFile(targets[job])])) as Record<string, string>,
  };
}

export function serverTasks(ctx: HostContext, v: MonitoringVars): Resource[] {
  if (ctx.os !== "debian")
    throw new UserError(
      `${ctx.host.name} (${ctx.host.source}) is the hub but not Debian: the monitoring role runs Prometheus from Debian's packages`,
    );
  const d = debianMonitoring(ctx.facts.init);
  const r = renderHubMonitoring(ctx, v);
  const prometheusArgs = [
    `--config.file=${d.configDir}/prometheus.yml`,
    `--storage.tsdb.path=${d.tsdbDir}`,
    `--storage.tsdb.retention.time=${v.monitoring_retention}`,
    `--web.listen-address=${v.monitoring_prometheus_listen}`,
  ];
  const alertmanagerArgs = [
    `--config.file=${d.configDir}/alertmanager.yml`,
    `--storage.path=${d.alertmanagerDataDir}`,
    `--web.listen-address=${v.monitoring_alertmanager_listen}`,
    // One hub, one Alertmanager: no gossip port.
    "--cluster.listen-address=",
  ];
  return [
    packages({ names: [d.packages.prometheus, d.packages.alertmanager], os: ctx.os }),
    directory({ path: `${d.configDir}/rules` }),
    directory({ path: `${d.configDir}/targets` }),
    // Prometheus watches file_sd files itself: a new node needs no reload.
    ...SCRAPE_JOBS.map((job) => file({ path: `${d.configDir}/targets/${job}.json`, content: r.targets[job] })),
    file({ path: `${d.configDir}/rules/alerts.yml`, content: r.alerts, notify: [RELOAD_PROMETHEUS] }),
    file({ path: `${d.configDir}/rules/inventory.yml`, content: r.inventoryRules, notify: [RELOAD_PROMETHEUS] }),
    // rules/certificates.yml comes from certificateMonitoringRole, which playbooks run once every certificate is recorded.
    file({ path: `${d.configDir}/prometheus.yml`, content: r.prometheus, notify: [RELOAD_PROMETHEUS] }),
    ...daemonRunner(ctx, {
      unit: d.packages.prometheus,
      service: d.service.prometheus,
      bin: d.bin.prometheus,
      args: prometheusArgs,
      description: "Prometheus",
      notify: [RESTART_PROMETHEUS],
    }),
    service({ name: d.service.prometheus, init: ctx.facts.init }),
    // A webhook URL often carries a token: readable by Alertmanager's group only, masked in --diff.
    file({
      path: `${d.configDir}/alertmanager.yml`,
      content: r.alertmanager,
      mode: "0640",
      owner: "root",
      group: "prometheus",
      secret: true,
      notify: [RELOAD_ALERTMANAGER],
    }),
    ...daemonRunner(ctx, {
      unit: d.packages.alertmanager,
      service: d.service.alertmanager,
      bin: d.bin.alertmanager,
      args: alertmanagerArgs,
      description: "Alertmanager",
      notify: [RESTART_ALERTMANAGER],
    }),
    service({ name: d.service.alertmanager, init: ctx.facts.init }),
    ...grafanaFiles(ctx, v),
    ...(grafanaRuns(ctx, v) ? [grafanaUp(ctx, v)] : []),
  ];
}

export const prometheusReload = (ctx: HostContext): Handler =>
  reloadHandlerFor(debianMonitoring(ctx.facts.init).service.prometheus, ctx.facts.init, RELOAD_PROMETHEUS);

export function serverHandlers(ctx: HostContext, v: MonitoringVars): Handler[] {
  const d = debianMonitoring(ctx.facts.init);
  return [
    prometheusReload(ctx),
    restartHandler(d.service.prometheus, ctx.facts.init, RESTART_PROMETHEUS),
    reloadHandlerFor(d.service.alertmanager, ctx.facts.init, RELOAD_ALERTMANAGER),
    restartHandler(d.service.alertmanager, ctx.facts.init, RESTART_ALERTMANAGER),
    ...(grafanaRuns(ctx, v) ? [grafanaHandler(ctx, v)] : []),
  ];
}
