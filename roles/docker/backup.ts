// The stack's PostgreSQL backed up on the hub every day: the backup and restore scripts, their schedule (a systemd timer,
// or a small scheduler under a procd-style init), the backups' metrics for the node exporter, and alerts on them.
import { sh } from "../../lib/command.ts";
import { UserError } from "../../lib/errors.ts";
import type { InitSystem } from "../../lib/facts/host.ts";
import type { HostContext } from "../../lib/play.ts";
import { directory } from "../../lib/resources/directory.ts";
import { file } from "../../lib/resources/file.ts";
import type { Handler, Resource } from "../../lib/resources/resource.ts";
import { service } from "../../lib/resources/service.ts";
import { renderTemplate } from "../../lib/template.ts";
import { debianMonitoring } from "../monitoring/os.ts";
import { RELOAD_PROMETHEUS } from "../monitoring/server.ts";
import type { DockerVars } from "./compose.ts";

export const BACKUP_SCRIPT = "/usr/local/sbin/meshisp-db-backup";
export const RESTORE_SCRIPT = "/usr/local/sbin/meshisp-db-restore";
const SCHEDULE_SCRIPT = "/usr/local/sbin/meshisp-db-backup-schedule";
/** The systemd units (.service, .timer) and the procd-style init script share this name. */
export const BACKUP_UNIT = "meshisp-db-backup";
export const RESTART_BACKUP_SCHEDULE = "restart the database backup schedule";
const TEXTFILE_NAME = "meshisp_db_backup.prom";

/** Where the backups' series are written and their alert rules go (the monitoring role's directories). */
const monitoringPaths = (init: InitSystem) => {
  const d = debianMonitoring(init);
  return {
    textfileDir: d.textfileDir,
    textfile: `${d.textfileDir}/${TEXTFILE_NAME}`,
    rulesDir: `${d.configDir}/rules`,
  };
};
export const backupRulesFile = (init: InitSystem) => `${monitoringPaths(init).rulesDir}/db-backup.yml`;

interface BackupSettings {
  time: string;
  keepDays: number;
  dir: string;
  maxAgeHours: number;
}

/** The docker_backup_* values, or a UserError naming the host and the variable. They go into shell scripts unquoted. */
export function backupSettings(hostName: string, v: DockerVars): BackupSettings {
  const refuse = (name: string, value: unknown, expected: string) =>
    new UserError(`${hostName}: ${name} is ${JSON.stringify(value)}; expected ${expected}`);
  if (typeof v.docker_backup_time !== "string" || !/^([01]\d|2[0-3]):[0-5]\d$/.test(v.docker_backup_time))
    throw refuse(
      "docker_backup_time",
      v.docker_backup_time,
      'a time of day as HH:MM, 24-hour, the hub\'s local time (e.g. "03:30")',
    );
  if (!Number.isInteger(v.docker_backup_keep_days) || v.docker_backup_keep_days < 1)
    throw refuse("docker_backup_keep_days", v.docker_backup_keep_days, "a whole number of days, 1 or more");
  if (
    typeof v.docker_backup_dir !== "string" ||
    !/^\/[A-Za-z0-9._/-]+$/.test(v.docker_backup_dir) ||
    v.docker_backup_dir === "/"
  )
    throw refuse(
      "docker_backup_dir",
      v.docker_backup_dir,
      "an absolute directory of its own (letters, digits, . _ - /), e.g. /var/backups/meshisp/postgres",
    );
  if (typeof v.docker_backup_max_age_hours !== "number" || v.docker_backup_max_age_hours <= 24)
    throw refuse(
      "docker_backup_max_age_hours",
      v.docker_backup_max_age_hours,
      "more than 24 hours (a daily backup is almost a day old just before the next one)",
    );
  return {
    time: v.docker_backup_time,
    keepDays: v.docker_backup_keep_days,
    dir: v.docker_backup_dir.replace(/\/+$/, ""),
    maxAgeHours: v.docker_backup_max_age_hours,
  };
}

/** The schedule's files: a systemd service and timer, or a procd-style init script and the scheduler it runs. */
interface ScheduleFiles {
  service?: string;
  timer?: string;
  init?: string;
  scheduler?: string;
}

/** Every file of the backup, rendered (the unit tests run the scripts and check the rules with promtool). */
export function renderBackupFiles(ctx: HostContext, v: DockerVars) {
  const s = backupSettings(ctx.host.name, v);
  const init = ctx.facts.init;
  const paths = monitoringPaths(init);
  const apps = Object.entries(v.docker_services)
    .filter(([, svc]) => svc.uses?.includes("postgres"))
    .map(([name]) => name)
    .sort();
  const vars = {
    dir: s.dir,
    db: v.docker_postgres_db,
    keep_days: s.keepDays,
    project: v.docker_project,
    textfile: paths.textfile,
    time: s.time,
    apps: apps.join(" "),
    script: BACKUP_SCRIPT,
    schedule: SCHEDULE_SCRIPT,
    state: `${s.dir}/.last-scheduled-day`,
    scheduler: init === "systemd" ? `${BACKUP_UNIT}.timer` : `/etc/init.d/${BACKUP_UNIT}`,
    max_age_hours: s.maxAgeHours,
    max_age_seconds: s.maxAgeHours * 3600,
  };
  if (!/^[a-z_][a-z0-9_]*$/.test(vars.db))
    throw new UserError(
      `${ctx.host.name}: docker_postgres_db is ${JSON.stringify(vars.db)}; expected a plain name (a-z, 0-9, _)`,
    );
  return {
    settings: s,
    backup: renderTemplate("docker/db-backup.sh.hbs", vars),
    restore: renderTemplate("docker/db-restore.sh.hbs", vars),
    alerts: renderTemplate("docker/db-backup-alerts.yml.hbs", vars),
    schedule: (init === "systemd"
      ? {
          service: renderTemplate("docker/db-backup.service.hbs", vars),
          timer: renderTemplate("docker/db-backup.timer.hbs", vars),
        }
      : {
          init: renderTemplate("docker/db-backup.init.hbs", vars),
          scheduler: renderTemplate("docker/db-backup-schedule.sh.hbs", vars),
        }) as ScheduleFiles,
  };
}

/** The backup running on its schedule, its metrics read by the node exporter, its alerts in Prometheus. */
export function backupResources(ctx: HostContext, v: DockerVars): Resource[] {
  const f = renderBackupFiles(ctx, v);
  const init = ctx.facts.init;
  const paths = monitoringPaths(init);
  const restart = [RESTART_BACKUP_SCHEDULE];
  const schedule: Resource[] =
    init === "systemd"
      ? [
          file({ path: `/etc/systemd/system/${BACKUP_UNIT}.service`, content: f.schedule.service!, notify: restart }),
          file({ path: `/etc/systemd/system/${BACKUP_UNIT}.timer`, content: f.schedule.timer!, notify: restart }),
          service({ name: `${BACKUP_UNIT}.timer`, init }),
        ]
      : [
          file({ path: SCHEDULE_SCRIPT, content: f.schedule.scheduler!, mode: "0755", notify: restart }),
          file({ path: `/etc/init.d/${BACKUP_UNIT}`, content: f.schedule.init!, mode: "0755", notify: restart }),
          service({ name: BACKUP_UNIT, init }),
        ];
  return [
    // The dumps hold every member's data: root only.
    directory({ path: f.settings.dir, mode: "0700" }),
    directory({ path: paths.textfileDir, mode: "0755" }),
    file({ path: BACKUP_SCRIPT, content: f.backup, mode: "0755" }),
    file({ path: RESTORE_SCRIPT, content: f.restore, mode: "0755" }),
    ...schedule,
    directory({ path: paths.rulesDir, mode: "0755" }),
    file({ path: backupRulesFile(init), content: f.alerts, notify: [RELOAD_PROMETHEUS] }),
  ];
}

/**
 * No backups (the stack is off, or docker_backup_enabled is false): the schedule stopped, its alerts and series gone,
 * so nothing alerts about backups nobody wants. The backups already written, and the scripts, stay.
 */
export function backupStoppedResources(init: InitSystem): Resource[] {
  const unit = init === "systemd" ? `${BACKUP_UNIT}.timer` : BACKUP_UNIT;
  return [
    service({ name: unit, init, enabled: false, state: "stopped" }),
    file({ path: backupRulesFile(init), absent: true, notify: [RELOAD_PROMETHEUS] }),
    file({ path: monitoringPaths(init).textfile, absent: true }),
  ];
}

export const restartBackupSchedule = (init: InitSystem): Handler => ({
  name: RESTART_BACKUP_SCHEDULE,
  command:
    init === "systemd"
      ? sh`systemctl daemon-reload && systemctl restart ${`${BACKUP_UNIT}.timer`}`
      : sh`${`/etc/init.d/${BACKUP_UNIT}`} restart`,
});
