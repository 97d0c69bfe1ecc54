// The monitoring role's files, checked by the real tools: promtool (config, rules, unit tests firing every alert),
// amtool (Alertmanager), the compose spec (Grafana's compose file), and the dashboard against the metrics that exist.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { composeProblems } from "../../lib/compose-schema.ts";
import { emptyProbes, planOne } from "../helpers/plan.ts";
import { monitoringRole } from "../../roles/monitoring/index.ts";
import { certificateMonitoringRole } from "../../roles/monitoring/certificates.ts";
import { renderHubMonitoring } from "../../roles/monitoring/server.ts";
import { renderGrafana } from "../../roles/monitoring/grafana.ts";
import { exporterPresent } from "../../roles/monitoring/exporter.ts";
import { scrapeTargets } from "../../roles/monitoring/targets.ts";
import type { CertRegister } from "../../roles/monitoring/inventory-rules.ts";
import { BASE_INVENTORY, hubContext, inventoryFrom } from "./monitoring-fixture.ts";

const DAY = 86_400_000;
const entry = (name: string, ip: string, notAfterMs: number, fp: string) => ({
  name,
  ip,
  groups: [],
  subnets: [],
  fingerprint: fp.repeat(32),
  notBefore: new Date(0).toISOString(),
  notAfter: new Date(notAfterMs).toISOString(),
});
/** Times near the Unix epoch: promtool's unit tests start their clock at 0. */
const REGISTER: CertRegister = {
  issued: [
    entry("uplink-1", "10.0.4.65/16", 20 * DAY, "aa"),
    entry("uplink-2", "10.0.4.66/16", 3_600_000, "bb"),
    entry("relay-1", "10.0.4.33/16", 365 * DAY, "cc"),
    entry("gone-node", "10.0.4.70/16", 1000, "dd"),
  ],
  caName: "Test CA",
  caNotAfter: new Date(3650 * DAY),
};

function renderToDir(extra = {}) {
  const ctx = hubContext(inventoryFrom(BASE_INVENTORY), extra);
  const r = renderHubMonitoring(ctx, ctx.vars, REGISTER);
  const dir = mkdtempSync(join(tmpdir(), "meshisp-prom-"));
  mkdirSync(join(dir, "rules"));
  mkdirSync(join(dir, "targets"));
  // The config names /etc/prometheus/...: point it at the temp copy so promtool reads these very files.
  writeFileSync(join(dir, "prometheus.yml"), r.prometheus.replaceAll(`${r.dir}/`, `${dir}/`));
  writeFileSync(join(dir, "alertmanager.yml"), r.alertmanager);
  writeFileSync(join(dir, "rules/alerts.yml"), r.alerts);
  writeFileSync(join(dir, "rules/inventory.yml"), r.inventoryRules);
  writeFileSync(join(dir, "rules/certificates.yml"), r.certificateRules);
  for (const [job, content] of Object.entries(r.targets)) writeFileSync(join(dir, `targets/${job}.json`), content);
  return { dir, r };
}

const run = (cmd: string, args: string[], cwd?: string) => {
  try {
    return { code: 0, out: execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }) };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: `${e.stdout}${e.stderr}` };
  }
};

describe("Prometheus and Alertmanager files", () => {
  const { dir, r } = renderToDir();

  it("the Prometheus config passes promtool check config, rule files included", () => {
    const res = run("promtool", ["check", "config", join(dir, "prometheus.yml")]);
    expect(res.out).toContain("SUCCESS: 3 rule files found");
    expect(res.code, res.out).toBe(0);
    for (const job of ["nebula", "node", "failover", "hub-services"])
      expect(r.prometheus).toContain(`/etc/prometheus/targets/${job}.json`);
  });

  it("the rules pass promtool check rules", () => {
    const res = run("promtool", [
      "check",
      "rules",
      join(dir, "rules/alerts.yml"),
      join(dir, "rules/inventory.yml"),
      join(dir, "rules/certificates.yml"),
    ]);
    expect(res.code, res.out).toBe(0);
  });

  it("promtool's unit tests fire every alert the rules define (and not before its time)", () => {
    copyFileSync("test/fixtures/monitoring/alerts.test.yml", join(dir, "rules/alerts.test.yml"));
    const res = run("promtool", ["test", "rules", "alerts.test.yml"], join(dir, "rules"));
    expect(res.code, res.out).toBe(0);
    // Every alert of the rule file is expected to fire in at least one test case.
    const defined = (parse(r.alerts).groups as { rules: { alert?: string }[] }[])
      .flatMap((g) => g.rules.map((x) => x.alert))
      .filter(Boolean);
    const tests = parse(readFileSync("test/fixtures/monitoring/alerts.test.yml", "utf8")).tests as {
      alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[];
    }[];
    const fired = new Set(
      tests
        .flatMap((t) => t.alert_rule_test ?? [])
        .filter((a) => a.exp_alerts.length > 0)
        .map((a) => a.alertname),
    );
    expect(defined.length).toBeGreaterThanOrEqual(14);
    for (const name of defined) expect(fired, `alert ${name} has no test that fires it`).toContain(name);
  });

  it("a broken rule makes the unit tests fail (they check something)", () => {
    const broken = mkdtempSync(join(tmpdir(), "meshisp-prom-broken-"));
    writeFileSync(
      join(broken, "alerts.yml"),
      r.alerts.replace("meshisp_backup_active == 1", "meshisp_backup_active == 2"),
    );
    writeFileSync(join(broken, "inventory.yml"), r.inventoryRules);
    writeFileSync(join(broken, "certificates.yml"), r.certificateRules);
    copyFileSync("test/fixtures/monitoring/alerts.test.yml", join(broken, "alerts.test.yml"));
    const res = run("promtool", ["test", "rules", "alerts.test.yml"], broken);
    expect(res.code).not.toBe(0);
    expect(res.out).toContain("alertname: OnBackupUplink");
  });

  it("the certificate rules carry only nodes still in the inventory, and the CA", () => {
    expect(r.certificateRules).toContain("node: uplink-1");
    expect(r.certificateRules).toContain("node: CA");
    expect(r.certificateRules).not.toContain("gone-node");
    expect(r.inventoryRules).not.toContain("meshisp_nebula_cert_expiry_timestamp_seconds");
  });

  const amConfigs: [string, Record<string, unknown>, string[]][] = [
    ["the default (no receiver configured)", {}, ["2 receivers"]],
    ["a webhook", { monitoring_alert_webhook_url: "https://chat.example.org/hooks/mesh" }, ["2 receivers"]],
    [
      "a webhook and e-mail",
      {
        monitoring_alert_webhook_url: "https://chat.example.org/hooks/mesh",
        monitoring_alert_email_to: "mesh-team@example.org",
        monitoring_alert_smarthost: "mail.example.org:587",
      },
      ["2 receivers"],
    ],
  ];
  it.each(amConfigs)("Alertmanager's config with %s passes amtool check-config", (_what, extra, expected) => {
    const { dir: d, r: rendered } = renderToDir(extra);
    const res = run("amtool", ["check-config", join(d, "alertmanager.yml")]);
    expect(res.code, res.out).toBe(0);
    for (const e of expected) expect(res.out).toContain(e);
    const am = parse(rendered.alertmanager);
    const critical = am.route.routes.find((x: { matchers: string[] }) => x.matchers.includes('severity="critical"'));
    expect(critical.receiver).toBe("mesh-team-urgent");
    const urgent = am.receivers.find((x: { name: string }) => x.name === "mesh-team-urgent");
    if (extra.monitoring_alert_webhook_url)
      expect(urgent.webhook_configs[0].url).toBe(extra.monitoring_alert_webhook_url);
    else expect(urgent.webhook_configs).toBeUndefined();
    if (extra.monitoring_alert_email_to) expect(urgent.email_configs[0].to).toBe(extra.monitoring_alert_email_to);
  });
});

describe("targets from the inventory (file service discovery)", () => {
  const targetsOf = (yaml: string) => {
    const ctx = hubContext(inventoryFrom(yaml));
    const t = scrapeTargets(ctx.inventory, ctx.vars);
    return Object.fromEntries(
      Object.entries(t).map(([job, groups]) => [
        job,
        groups.map((g) => `${g.labels.node ?? ""}=${g.targets[0]}${g.labels.service ? `/${g.labels.service}` : ""}`),
      ]),
    );
  };
  const withUplink3 = BASE_INVENTORY.replace(
    "  clients:",
    "      uplink-3: { address: 198.18.9.33, os: openwrt }\n  clients:",
  );
  const uplink2Skipped = BASE_INVENTORY.replace(
    "uplink-2: { address: 198.18.9.32, os: openwrt }",
    "uplink-2: { address: 198.18.9.32, os: openwrt, vars: { monitoring_node_exporter: false } }",
  );
  const extraService = BASE_INVENTORY.replace(
    "hub: { address: 198.18.9.10, os: debian, mesh_ip: 10.0.4.1 }",
    "hub: { address: 198.18.9.10, os: debian, mesh_ip: 10.0.4.1, vars: { monitoring_grafana: false, monitoring_service_targets: [{ name: dns, target: '127.0.0.1:9153' }] } }",
  );
  const cases: [string, string, Record<string, string[]>][] = [
    [
      "the base mesh (clients' firewalls keep the hub out; relays admit only Nebula's stats)",
      BASE_INVENTORY,
      {
        nebula: ["hub=10.0.4.1:9101", "relay-1=10.0.4.33:9101", "uplink-1=10.0.4.65:9101", "uplink-2=10.0.4.66:9101"],
        node: ["hub=10.0.4.1:9100", "uplink-1=10.0.4.65:9100", "uplink-2=10.0.4.66:9100"],
        failover: ["hub=10.0.4.1:9102/failover-checker"],
        "hub-services": ["hub=127.0.0.1:9090/prometheus", "hub=127.0.0.1:9093/alertmanager"],
      },
    ],
    [
      "an uplink enrolled: its targets appear",
      withUplink3,
      {
        nebula: [
          "hub=10.0.4.1:9101",
          "relay-1=10.0.4.33:9101",
          "uplink-1=10.0.4.65:9101",
          "uplink-2=10.0.4.66:9101",
          "uplink-3=10.0.4.67:9101",
        ],
        node: ["hub=10.0.4.1:9100", "uplink-1=10.0.4.65:9100", "uplink-2=10.0.4.66:9100", "uplink-3=10.0.4.67:9100"],
      },
    ],
    [
      "an uplink without an exporter: only its Nebula stats",
      uplink2Skipped,
      {
        node: ["hub=10.0.4.1:9100", "uplink-1=10.0.4.65:9100"],
      },
    ],
    [
      "an opkg feed without the Lua exporter: no OpenWrt node exporters",
      `vars: { monitoring_openwrt_exporter: false }\n${BASE_INVENTORY}`,
      {
        nebula: ["hub=10.0.4.1:9101", "relay-1=10.0.4.33:9101", "uplink-1=10.0.4.65:9101", "uplink-2=10.0.4.66:9101"],
        node: ["hub=10.0.4.1:9100"],
      },
    ],
    [
      "a stack service with metrics, Grafana off",
      extraService,
      {
        "hub-services": ["hub=127.0.0.1:9090/prometheus", "hub=127.0.0.1:9093/alertmanager", "hub=127.0.0.1:9153/dns"],
      },
    ],
  ];
  it.each(cases)("%s", (_what, yaml, expected) => {
    const got = targetsOf(yaml);
    for (const [job, list] of Object.entries(expected)) expect(got[job], job).toEqual(list);
  });

  it("the targets file changes when a node is enrolled and not otherwise", () => {
    const before = renderHubMonitoring(
      hubContext(inventoryFrom(BASE_INVENTORY)),
      hubContext(inventoryFrom(BASE_INVENTORY)).vars,
      REGISTER,
    ).targets;
    const same = renderHubMonitoring(
      hubContext(inventoryFrom(BASE_INVENTORY)),
      hubContext(inventoryFrom(BASE_INVENTORY)).vars,
      REGISTER,
    ).targets;
    const after = renderHubMonitoring(
      hubContext(inventoryFrom(withUplink3)),
      hubContext(inventoryFrom(withUplink3)).vars,
      REGISTER,
    ).targets;
    expect(same).toEqual(before);
    expect(after.nebula).not.toBe(before.nebula);
    expect(after.failover).toBe(before.failover);
    expect(JSON.parse(after.nebula).at(-1)).toEqual({
      targets: ["10.0.4.67:9101"],
      labels: { node: "uplink-3", node_type: "uplink", group: "uplinks" },
    });
  });
});

describe("the role's tasks", () => {
  const names = (ctx: ReturnType<typeof hubContext>) => monitoringRole.tasks(ctx).map((t) => t.name);
  it("the hub under systemd configures the packages' own units through /etc/default; Grafana's files only, without Docker", () => {
    const n = names(hubContext(inventoryFrom(BASE_INVENTORY), {}, "systemd"));
    expect(n).toEqual(
      expect.arrayContaining([
        "Write /etc/default/prometheus",
        "Write /etc/default/prometheus-alertmanager",
        "Write /etc/default/prometheus-node-exporter",
        "Run service prometheus at boot",
        "Run service prometheus-alertmanager at boot",
        "Write /etc/meshisp/grafana/compose.yml",
      ]),
    );
    expect(n.some((x) => x.includes("/etc/init.d/"))).toBe(false);
    expect(n).not.toContain("Run Grafana");
  });
  it("a hub with Docker runs Grafana with the docker role's compose command, and the stack's node exporter instead of the native one", () => {
    const ctx = hubContext(inventoryFrom(BASE_INVENTORY), { docker_enabled: true, docker_source: "docker" }, "systemd");
    const tasks = monitoringRole.tasks(ctx);
    const n = tasks.map((t) => t.name);
    expect(n).toContain("Run Grafana");
    expect(n).not.toContain("Install prometheus-node-exporter");
    const handler = monitoringRole.handlers!(ctx).find((h) => h.name === "recreate grafana")!;
    expect(handler.command.render()).toContain("docker compose -p meshisp-monitoring up -d --force-recreate");
    const services = JSON.parse(renderHubMonitoring(ctx, ctx.vars, REGISTER).targets["hub-services"]);
    expect(services.map((g: { labels: { service: string } }) => g.labels.service)).toContain("grafana");
  });
  it("the hub without systemd runs its own init scripts, leaving the packages' LSB scripts alone", () => {
    const n = names(hubContext(inventoryFrom(BASE_INVENTORY), { monitoring_grafana: false }, "initd"));
    expect(n).toEqual(
      expect.arrayContaining([
        "Write /etc/init.d/mesh-prometheus",
        "Write /etc/init.d/mesh-alertmanager",
        "Write /etc/init.d/mesh-node-exporter",
        "Run service mesh-prometheus at boot",
      ]),
    );
    expect(n).not.toContain("Write /etc/init.d/prometheus");
    expect(n).not.toContain("Run Grafana");
    expect(n).toContain("Write /etc/meshisp/grafana/compose.yml");
  });
  it("an OpenWrt uplink gets the Lua exporter; a relay none (its firewall keeps the hub out); the switches skip it", () => {
    const inv = inventoryFrom(BASE_INVENTORY);
    expect(names(hubContext(inv, {}, "initd", "uplink-1"))).toEqual([
      "Install prometheus-node-exporter-lua",
      "Check that prometheus-node-exporter-lua brought /usr/bin/prometheus-node-exporter-lua",
      "Write /etc/config/prometheus-node-exporter-lua",
      "Run service prometheus-node-exporter-lua at boot",
    ]);
    // A relay's Nebula firewall admits the hub only on the stats port: no exporter nobody could scrape.
    expect(names(hubContext(inv, {}, "systemd", "relay-1"))).toEqual([]);
    expect(names(hubContext(inv, { monitoring_node_exporter: false }, "initd", "uplink-1"))).toEqual([]);
    expect(names(hubContext(inv, { monitoring_openwrt_exporter: false }, "initd", "uplink-1"))).toEqual([]);
    expect(names(hubContext(inv, { monitoring_openwrt_exporter: false }, "systemd", "hub"))).toContain(
      "Install prometheus-node-exporter",
    );
  });

  /** What a file task would write on a host that has nothing yet. */
  const written = (ctx: ReturnType<typeof hubContext>, role: typeof monitoringRole, path: string) => {
    const task = role.tasks(ctx).find((t) => t.name === `Write ${path}` || t.name.startsWith(`Write ${path} `))!;
    return planOne(task, emptyProbes)!.diff!.after;
  };
  it("the daemons' arguments: /etc/default for systemd units, the same flags in procd-style scripts", () => {
    const inv = inventoryFrom(BASE_INVENTORY);
    const args = written(hubContext(inv, {}, "systemd"), monitoringRole, "/etc/default/prometheus");
    expect(args).toMatch(
      /^ARGS="--config\.file=\/etc\/prometheus\/prometheus\.yml --storage\.tsdb\.path=\/var\/lib\/prometheus\/metrics2 --storage\.tsdb\.retention\.time=30d --web\.listen-address=127\.0\.0\.1:9090"$/m,
    );
    const init = written(hubContext(inv, {}, "initd"), monitoringRole, "/etc/init.d/mesh-alertmanager");
    expect(init).toContain(
      "procd_set_param command /usr/bin/prometheus-alertmanager --config.file=/etc/prometheus/alertmanager.yml --storage.path=/var/lib/prometheus/alertmanager --web.listen-address=127.0.0.1:9093 --cluster.listen-address=\n",
    );
    expect(written(hubContext(inv, {}, "systemd"), monitoringRole, "/etc/default/prometheus-node-exporter")).toContain(
      "--web.listen-address=10.0.4.1:9100",
    );
    expect(
      written(hubContext(inv, {}, "initd", "uplink-1"), monitoringRole, "/etc/config/prometheus-node-exporter-lua"),
    ).toContain("option listen_port '9100'");
  });
  it("certificatesPlay's role writes the register's series on the hub (none without a CA), which promtool accepts", () => {
    const ctx = hubContext(inventoryFrom(BASE_INVENTORY));
    const content = written(ctx, certificateMonitoringRole, "/etc/prometheus/rules/certificates.yml");
    expect(parse(content).groups).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), "meshisp-certs-"));
    writeFileSync(join(dir, "certificates.yml"), content);
    expect(run("promtool", ["check", "rules", join(dir, "certificates.yml")]).code).toBe(0);
    expect(certificateMonitoringRole.handlers!(ctx).map((h) => h.command.render())).toEqual([
      "systemctl reload-or-restart prometheus",
    ]);
  });

  const presence: [string, boolean, boolean][] = [
    ["the exporter is there: nothing to do", true, false],
    ["the package installed no exporter: the run fails saying so", false, true],
  ];
  it.each(presence)("%s", (_what, exists, expectCommand) => {
    const res = exporterPresent("/usr/bin/prometheus-node-exporter-lua", "prometheus-node-exporter-lua");
    // The path probe's output for an executable there, or nothing there.
    const plan = planOne(res, () => (exists ? "file\n-rwxr-xr-x 1200\nroot\nroot\nab\n" : "absent\n"));
    if (!expectCommand) return expect(plan).toBeNull();
    const shell = plan!.commands[0].render();
    expect(shell).toContain("monitoring_node_exporter: false");
    expect(run("sh", ["-c", shell]).code).toBe(1);
    expect(run("sh", ["-c", shell]).out).toContain(
      "is installed but /usr/bin/prometheus-node-exporter-lua is not there",
    );
  });
});

describe("Grafana", () => {
  const ctx = hubContext(inventoryFrom(BASE_INVENTORY));
  const g = renderGrafana(ctx.vars);

  it("its compose file is valid against the compose specification", () => {
    const compose = parse(g.compose);
    expect(composeProblems(compose)).toEqual([]);
    expect(compose.services.grafana.image).toBe(ctx.vars.monitoring_grafana_image);
    // The schema catches mistakes: a misspelt key is refused.
    expect(composeProblems({ ...compose, services: { grafana: { ...compose.services.grafana, imag: "x" } } })).toEqual([
      "/services/grafana: must NOT have additional properties (imag)",
    ]);
  });

  it("docker-compose 1.29 (what a Debian 12 hub runs it with) accepts the compose file", () => {
    const dir = mkdtempSync(join(tmpdir(), "meshisp-grafana-"));
    writeFileSync(join(dir, "compose.yml"), g.compose);
    const res = run("docker-compose", ["-p", "meshisp-monitoring", "-f", join(dir, "compose.yml"), "config", "-q"]);
    expect(res.code, res.out).toBe(0);
  });

  it("the data source points at the hub's Prometheus and the provider at the dashboards' folder", () => {
    expect(parse(g.datasource).datasources[0]).toMatchObject({
      uid: "meshisp-prometheus",
      type: "prometheus",
      url: "http://127.0.0.1:9090",
      isDefault: true,
    });
    expect(parse(g.provider).providers[0].options.path).toBe("/etc/grafana/dashboards");
    expect(g.compose).toContain("/etc/meshisp/grafana/dashboards:/etc/grafana/dashboards:ro");
  });

  it("every panel of the dashboard queries metrics that exist: recorded by our rules, exported by the checker, Nebula or the node exporter", () => {
    const { r } = renderToDir();
    const recorded = [r.inventoryRules, r.certificateRules].flatMap((f) =>
      (parse(f).groups as { rules: { record: string }[] }[]).flatMap((x) => x.rules.map((y) => y.record)),
    );
    const failoverChecker = [
      "meshisp_uplink_up",
      "meshisp_uplink_weight",
      "meshisp_uplink_rtt_seconds",
      "meshisp_failover_switches_total",
      "meshisp_backup_active",
    ];
    const prometheusOwn = ["up", "scrape_duration_seconds", "ALERTS"];
    const nodeExporter = [
      "node_filesystem_avail_bytes",
      "node_filesystem_size_bytes",
      "node_network_transmit_bytes_total",
      "node_network_receive_bytes_total",
    ];
    const known = new Set([...recorded, ...failoverChecker, ...prometheusOwn, ...nodeExporter]);
    const functions = new Set([
      "sum",
      "count",
      "max",
      "min",
      "increase",
      "rate",
      "time",
      "by",
      "on",
      "and",
      "or",
      "unless",
    ]);
    const dash = JSON.parse(g.dashboard);
    expect(dash.uid).toBe("meshisp-overview");
    const panels = dash.panels.filter((p: { type: string }) => p.type !== "row");
    expect(panels.length).toBeGreaterThanOrEqual(10);
    const ids = new Set<number>();
    for (const p of panels) {
      expect(ids.has(p.id), `panel id ${p.id} twice`).toBe(false);
      ids.add(p.id);
      expect(p.title && p.description, `panel ${p.id} needs a title and a description`).toBeTruthy();
      expect(p.datasource.uid).toBe("meshisp-prometheus");
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      expect(p.targets.length).toBeGreaterThan(0);
      for (const t of p.targets) {
        // Strip label matchers, strings and ranges, then every identifier left is a metric or a function.
        const bare = t.expr
          .replace(/\{[^}]*\}/g, "")
          .replace(/"[^"]*"/g, "")
          .replace(/\[[^\]]*\]/g, "");
        const words = bare.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
        const metrics = words.filter((w: string) => !functions.has(w));
        expect(metrics.length, `panel "${p.title}" queries no metric`).toBeGreaterThan(0);
        for (const m of metrics) expect(known, `panel "${p.title}" uses ${m}`).toContain(m);
      }
    }
    // What a coordinator must see: uplinks, traffic against caps, failover events, services.
    const exprs = panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((t) => t.expr)).join("\n");
    for (const m of [
      "meshisp_uplink_up",
      "meshisp_uplink_traffic_bits_per_second",
      "meshisp_uplink_cap_bits_per_second",
      "meshisp_failover_switches_total",
      'up{job=~"hub-services|failover"}',
    ])
      expect(exprs).toContain(m);
  });
});
