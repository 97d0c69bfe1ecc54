// The hub's database backup: the scripts the role writes, run for real under dash with a stand-in `docker` (its calls
// recorded), the daily scheduler's decisions (table), the files per init system, the alert rules under promtool, and
// the refusals of bad docker_backup_* values.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { UserError } from "../../lib/errors.ts";
import type { HostContext } from "../../lib/play.ts";
import { hostContext, inventoryFrom } from "../context.ts";
import { BACKUP_UNIT, backupResources, backupSettings, renderBackupFiles } from "../../roles/docker/backup.ts";
import type { DockerVars } from "../../roles/docker/compose.ts";
import { dockerDefaults } from "../../roles/docker/defaults.ts";

const INVENTORY = `
groups:
  hub:
    hosts:
      hub: { address: 10.10.0.2, os: debian, mesh_ip: 10.0.4.1, vars: { docker_enabled: true } }
`;
const inventory = inventoryFrom(INVENTORY);
const ctxFor = (extra: Record<string, unknown> = {}, init: "systemd" | "initd" = "initd"): HostContext =>
  hostContext(inventory, "hub", { defaults: dockerDefaults, extra: [extra], init });
const varsOf = (ctx: HostContext) => ctx.vars as DockerVars;

/** A stand-in for `docker` (and a silent `logger`): every call logged; what it answers set through FAKE_* variables. */
function fakeBin(root: string): string {
  const bin = join(root, "bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, "docker"),
    `#!/bin/sh
echo "$*" >> "$FAKE_LOG"
case "$1" in
ps)
	for a in "$@"; do case "$a" in label=com.docker.compose.service=*) svc=\${a#label=com.docker.compose.service=} ;; esac; done
	case " \${FAKE_DOWN-} " in *" $svc "*) exit 0 ;; esac
	echo "id-$svc" ;;
exec)
	case "$*" in
	*pg_dump*)
		[ -z "\${FAKE_DUMP_FAIL-}" ] || { echo "pg_dump: error: connection to server failed" >&2; exit 1; }
		printf 'PGDMP%s' "\${FAKE_DUMP_DATA-rows}"
		[ -z "\${FAKE_DUMP_SLEEP-}" ] || sleep "$FAKE_DUMP_SLEEP" ;;
	*"pg_restore --list"*) [ "$(head -c 5)" = PGDMP ] ;;
	*pg_restore*) cat > "$FAKE_RESTORED"; [ -z "\${FAKE_RESTORE_FAIL-}" ] ;;
	esac ;;
esac
`,
  );
  writeFileSync(join(bin, "logger"), "#!/bin/sh\nexit 0\n");
  for (const f of ["docker", "logger"]) chmodSync(join(bin, f), 0o755);
  return bin;
}

/** The role's scripts, rendered for a temp directory (backups, textfile), written there. */
function hubFiles() {
  const root = mkdtempSync(join(tmpdir(), "meshisp-backup-"));
  const dir = join(root, "backups");
  const textfileDir = join(root, "textfile");
  mkdirSync(textfileDir);
  const f = renderBackupFiles(ctxFor({ docker_backup_dir: dir }), varsOf(ctxFor({ docker_backup_dir: dir })));
  const textfile = join(textfileDir, "meshisp_db_backup.prom");
  const local = (s: string) => s.replaceAll("/var/lib/prometheus/node-exporter/meshisp_db_backup.prom", textfile);
  writeFileSync(join(root, "backup"), local(f.backup));
  writeFileSync(join(root, "restore"), local(f.restore));
  return { root, dir, textfile, bin: fakeBin(root), log: join(root, "docker.log"), restored: join(root, "restored") };
}

function run(
  h: ReturnType<typeof hubFiles>,
  script: "backup" | "restore",
  args: string[] = [],
  env: Record<string, string> = {},
) {
  const r = spawnSync("/bin/dash", [join(h.root, script), ...args], {
    encoding: "utf8",
    env: { PATH: `${h.bin}:/usr/bin:/bin`, FAKE_LOG: h.log, FAKE_RESTORED: h.restored, ...env },
    timeout: 20_000,
  });
  return {
    code: r.status,
    stderr: r.stderr,
    stdout: r.stdout,
    calls: existsSync(h.log) ? readFileSync(h.log, "utf8") : "",
  };
}

const dumps = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".dump"))
        .sort()
    : [];
const metric = (textfile: string, name: string) =>
  Number(new RegExp(`^${name}\\{db="mesh"\\} (\\d+)$`, "m").exec(readFileSync(textfile, "utf8"))?.[1]);
const age = (path: string, days: number) => {
  const t = Date.now() / 1000 - days * 86400;
  utimesSync(path, t, t);
};

describe("meshisp-db-backup (run under dash, docker stood in for)", () => {
  it("dumps inside the postgres container into a new file, read back before it is renamed, and exports its figures", () => {
    const h = hubFiles();
    const r = run(h, "backup");
    expect(r.code, r.stderr).toBe(0);
    const files = dumps(h.dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^mesh-\d{8}T\d{6}Z\.dump$/);
    expect(readFileSync(join(h.dir, files[0]), "utf8")).toBe("PGDMProws");
    expect(readdirSync(h.dir).filter((f) => f.includes("partial"))).toEqual([]);
    // The container found by the stack's labels; the password is the container's own (nothing secret on the hub's command line).
    expect(r.calls).toMatch(
      /^ps -q --filter label=com\.docker\.compose\.project=meshisp --filter label=com\.docker\.compose\.service=postgres --filter status=running$/m,
    );
    expect(r.calls).toContain(
      'exec id-postgres sh -c PGPASSWORD="$POSTGRES_PASSWORD" exec pg_dump -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -Fc',
    );
    expect(r.calls).toMatch(/^exec -i id-postgres pg_restore --list$/m);
    expect(metric(h.textfile, "meshisp_db_backup_last_run_success")).toBe(1);
    expect(metric(h.textfile, "meshisp_db_backup_last_size_bytes")).toBe(9);
    expect(metric(h.textfile, "meshisp_db_backup_files")).toBe(1);
    expect(
      Math.abs(metric(h.textfile, "meshisp_db_backup_last_success_timestamp_seconds") - Date.now() / 1000),
    ).toBeLessThan(60);
    // The textfile collector reads only *.prom: nothing half-written under that name.
    expect(readdirSync(join(h.root, "textfile"))).toEqual(["meshisp_db_backup.prom"]);
  });

  it("keeps N days after a good backup (the restore's safety copies too), and removes nothing when it fails", () => {
    const h = hubFiles();
    mkdirSync(h.dir, { recursive: true });
    const old = ["mesh-20001101T033000Z.dump", "mesh-20001201T033000Z.dump", "pre-restore-mesh-20001101T120000Z.dump"];
    for (const f of old) writeFileSync(join(h.dir, f), "PGDMPold");
    writeFileSync(join(h.dir, "notes.txt"), "not ours");
    age(join(h.dir, old[0]), 15);
    age(join(h.dir, old[1]), 13);
    age(join(h.dir, old[2]), 20);
    age(join(h.dir, "notes.txt"), 30);

    const failed = run(h, "backup", [], { FAKE_DUMP_FAIL: "1" });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      /pg_dump failed: pg_dump: error: connection to server failed .*no backup written; the ones in .* are as they were/,
    );
    expect(dumps(h.dir)).toEqual([...old].sort());
    expect(metric(h.textfile, "meshisp_db_backup_last_run_success")).toBe(0);
    // The last success is the newest backup on disk, whatever this run did.
    expect(metric(h.textfile, "meshisp_db_backup_files")).toBe(2);

    const ok = run(h, "backup");
    expect(ok.code, ok.stderr).toBe(0);
    const left = dumps(h.dir);
    expect(left).toContain("mesh-20001201T033000Z.dump");
    expect(left).not.toContain("mesh-20001101T033000Z.dump");
    expect(left).not.toContain("pre-restore-mesh-20001101T120000Z.dump");
    expect(left).toHaveLength(2);
    expect(existsSync(join(h.dir, "notes.txt"))).toBe(true);
    expect(metric(h.textfile, "meshisp_db_backup_previous_size_bytes")).toBe(8);
  });

  it("a run cut short leaves only a .partial file (the backups as they were), which a later run clears", () => {
    const h = hubFiles();
    const first = run(h, "backup");
    expect(first.code, first.stderr).toBe(0);
    const before = dumps(h.dir);
    // Killed while pg_dump still writes (the timeout sends SIGTERM to the script, as a power cut would stop it).
    const cut = spawnSync("/bin/dash", [join(h.root, "backup")], {
      env: { PATH: `${h.bin}:/usr/bin:/bin`, FAKE_LOG: h.log, FAKE_DUMP_SLEEP: "5" },
      timeout: 1500,
      killSignal: "SIGKILL",
    });
    expect(cut.signal).toBe("SIGKILL");
    expect(dumps(h.dir)).toEqual(before);
    expect(readdirSync(h.dir).filter((f) => f.endsWith(".partial"))).toHaveLength(1);
    for (const f of readdirSync(h.dir).filter((f) => f.includes("partial"))) age(join(h.dir, f), 1);
    const next = run(h, "backup");
    expect(next.code, next.stderr).toBe(0);
    expect(readdirSync(h.dir).filter((f) => f.includes("partial"))).toEqual([]);
  });

  it("refuses, saying why, when the stack's postgres is not running", () => {
    const h = hubFiles();
    const r = run(h, "backup", [], { FAKE_DOWN: "postgres" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "the stack's postgres container is not running (docker ps lists none of project meshisp)",
    );
    expect(dumps(h.dir)).toEqual([]);
    expect(metric(h.textfile, "meshisp_db_backup_last_success_timestamp_seconds")).toBe(0);
  });
});

describe("meshisp-db-restore (run under dash, docker stood in for)", () => {
  it("refuses clearly when there is no backup, and changes nothing", () => {
    const h = hubFiles();
    const r = run(h, "restore", ["--yes"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^meshisp-db-restore: no backup in \S+backups: nothing to restore\. meshisp-db-backup writes one every day at 03:30; to make one now: meshisp-db-backup$/m,
    );
    expect(r.calls).toBe("");
    expect(run(h, "restore", ["--list"]).code).toBe(1);
    expect(run(h, "restore", ["--yes", "mesh-19990101T000000Z.dump"]).stderr).toMatch(
      /no backup \S+mesh-19990101T000000Z\.dump \(meshisp-db-restore --list shows them\)/,
    );
  });

  it("without --yes says what it would do and changes nothing", () => {
    const h = hubFiles();
    expect(run(h, "backup").code).toBe(0);
    const r = run(h, "restore");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /would replace database mesh with \S+\.dump \(written .*\); the apps barter-cache brainjoos-sync mutual-credit stop meanwhile/,
    );
    expect(r.stderr).toContain("nothing was changed: run again with --yes to restore");
    expect(r.calls).not.toMatch(/^(stop|start)|pg_restore -h/m);
  });

  it("--yes: a safety copy first, the apps stopped, one transaction, the apps started again", () => {
    const h = hubFiles();
    expect(run(h, "backup", [], { FAKE_DUMP_DATA: "the backup" }).code).toBe(0);
    writeFileSync(h.log, "");
    const r = run(h, "restore", ["--yes"], { FAKE_DUMP_DATA: "now" });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(h.restored, "utf8")).toBe("PGDMPthe backup");
    const safety = readdirSync(h.dir).filter((f) => f.startsWith("pre-restore-mesh-"));
    expect(safety).toHaveLength(1);
    expect(readFileSync(join(h.dir, safety[0]), "utf8")).toBe("PGDMPnow");
    const calls = r.calls.split("\n").filter(Boolean);
    const at = (re: RegExp) => calls.findIndex((c) => re.test(c));
    expect(at(/pg_restore -h 127\.0\.0\.1 .* --clean --if-exists --no-owner --single-transaction/)).toBeGreaterThan(
      at(/^stop id-mutual-credit$/),
    );
    expect(at(/^start id-barter-cache id-brainjoos-sync id-mutual-credit$/)).toBeGreaterThan(
      at(/--single-transaction/),
    );
    // emergency-broadcast uses no database: left running.
    expect(r.calls).not.toContain("emergency-broadcast");
    expect(r.stderr).toMatch(/restored database mesh from \S+mesh-\d{8}T\d{6}Z\.dump/);
    // The latest is still the backup, not the safety copy.
    expect(run(h, "restore", ["--list"]).stdout).not.toContain("pre-restore");
  });

  it("a failed pg_restore says the database is as it was, and still starts the apps again", () => {
    const h = hubFiles();
    expect(run(h, "backup").code).toBe(0);
    writeFileSync(h.log, "");
    const r = run(h, "restore", ["--yes", "--no-safety-copy"], { FAKE_RESTORE_FAIL: "1" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pg_restore failed: the database is as it was before \(one transaction\)/);
    expect(r.calls).toMatch(/^start id-barter-cache id-brainjoos-sync id-mutual-credit$/m);
    expect(readdirSync(h.dir).filter((f) => f.startsWith("pre-restore"))).toEqual([]);
  });

  it("refuses a file that is not a backup before stopping anything", () => {
    const h = hubFiles();
    mkdirSync(h.dir, { recursive: true });
    writeFileSync(join(h.dir, "mesh-20260101T000000Z.dump"), "not an archive");
    const r = run(h, "restore", ["--yes"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not a backup pg_restore can read: nothing was changed/);
    expect(r.calls).not.toMatch(/^stop /m);
  });
});

describe("the scheduler without systemd (meshisp-db-backup-schedule): when it runs the job", () => {
  const rows: { name: string; now: string; state?: string; ran: boolean; after: string }[] = [
    {
      name: "first start after today's time: not now, tomorrow",
      now: "04:00 2026-12-02",
      ran: false,
      after: "2026-12-02",
    },
    {
      name: "first start before today's time: today at that time",
      now: "02:00 2026-12-02",
      ran: false,
      after: "2026-12-01",
    },
    { name: "the time comes", now: "03:30 2026-12-02", state: "2026-12-01", ran: true, after: "2026-12-02" },
    { name: "done today", now: "05:00 2026-12-02", state: "2026-12-02", ran: false, after: "2026-12-02" },
    {
      name: "before the time, yesterday's done",
      now: "01:00 2026-12-02",
      state: "2026-12-01",
      ran: false,
      after: "2026-12-01",
    },
    {
      name: "the hub was off yesterday at that time, back before today's",
      now: "01:00 2026-12-02",
      state: "2026-11-30",
      ran: true,
      after: "2026-12-01",
    },
    {
      name: "the hub was off at that time, back after it",
      now: "10:00 2026-12-02",
      state: "2026-11-29",
      ran: true,
      after: "2026-12-02",
    },
  ];
  const scheduler = renderBackupFiles(ctxFor(), varsOf(ctxFor())).schedule.scheduler!;
  it.each(rows)("$name", ({ now, state, ran, after }) => {
    const root = mkdtempSync(join(tmpdir(), "meshisp-schedule-"));
    const bin = join(root, "bin");
    mkdirSync(bin);
    // `date` answers the test's clock; `sleep` ends the scheduler's loop after one pass (it is the loop's child).
    writeFileSync(
      join(bin, "date"),
      `#!/bin/sh\ncase "$*" in *yesterday*) echo "$FAKE_YESTERDAY" ;; *) echo "$FAKE_NOW" ;; esac\n`,
    );
    writeFileSync(join(bin, "sleep"), "#!/bin/sh\nkill -TERM $PPID\n");
    writeFileSync(join(root, "job"), `#!/bin/sh\necho ran >> ${root}/ran\n`);
    for (const f of [join(bin, "date"), join(bin, "sleep"), join(root, "job")]) chmodSync(f, 0o755);
    writeFileSync(join(root, "schedule"), scheduler);
    if (state) writeFileSync(join(root, "state"), `${state}\n`);
    const day = now.split(" ")[1];
    const yesterday = new Date(Date.parse(`${day}T12:00:00Z`) - 86400_000).toISOString().slice(0, 10);
    const r = spawnSync("/bin/dash", [join(root, "schedule"), "03:30", join(root, "state"), join(root, "job")], {
      encoding: "utf8",
      env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_NOW: now, FAKE_YESTERDAY: yesterday },
      timeout: 10_000,
    });
    expect(r.signal, r.stderr).toBe("SIGTERM");
    expect(existsSync(join(root, "ran"))).toBe(ran);
    expect(readFileSync(join(root, "state"), "utf8").trim()).toBe(after);
  });

  it("refuses a time that is not HH:MM", () => {
    const root = mkdtempSync(join(tmpdir(), "meshisp-schedule-"));
    writeFileSync(join(root, "schedule"), scheduler);
    const r = spawnSync("/bin/dash", [join(root, "schedule"), "3:30", join(root, "state"), "/bin/true"], {
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("3:30 is not HH:MM");
  });
});

describe("the schedule's files, by init", () => {
  it("systemd: a oneshot service and a daily timer (Persistent), the timer enabled and started", () => {
    const ctx = ctxFor({ docker_backup_time: "02:15" }, "systemd");
    const f = renderBackupFiles(ctx, varsOf(ctx));
    expect(f.schedule.timer).toContain("OnCalendar=*-*-* 02:15:00\nPersistent=true");
    expect(f.schedule.service).toContain("Type=oneshot\nExecStart=/usr/local/sbin/meshisp-db-backup");
    const names = backupResources(ctx, varsOf(ctx)).map((r) => r.name);
    expect(names).toContain(`Write /etc/systemd/system/${BACKUP_UNIT}.timer`);
    expect(names).toContain(`Run service ${BACKUP_UNIT}.timer at boot`);
    expect(names).toContain("Write /etc/prometheus/rules/db-backup.yml");
  });

  it("a procd-style init: its init script runs the scheduler, respawned forever", () => {
    const ctx = ctxFor({}, "initd");
    const f = renderBackupFiles(ctx, varsOf(ctx));
    expect(f.schedule.init).toContain(
      "procd_set_param command /usr/local/sbin/meshisp-db-backup-schedule 03:30 /var/backups/meshisp/postgres/.last-scheduled-day /usr/local/sbin/meshisp-db-backup",
    );
    expect(f.schedule.init).toContain("procd_set_param respawn 3600 5 0");
    const names = backupResources(ctx, varsOf(ctx)).map((r) => r.name);
    expect(names).toContain(`Run service ${BACKUP_UNIT} at boot`);
    expect(names).toContain("Create directory /var/backups/meshisp/postgres");
  });
});

describe("the backups' alert rules", () => {
  const ctx = ctxFor();
  const alerts = renderBackupFiles(ctx, varsOf(ctx)).alerts;
  const dir = mkdtempSync(join(tmpdir(), "meshisp-backup-rules-"));
  writeFileSync(join(dir, "db-backup.yml"), alerts);
  const promtool = (args: string[]) => spawnSync("promtool", args, { cwd: dir, encoding: "utf8" });

  it("pass promtool check rules", () => {
    const r = promtool(["check", "rules", "db-backup.yml"]);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it("fire when the newest backup is too old, a run failed, a backup shrank, or none ever ran (promtool test rules)", () => {
    const s = (expr: string, values: string) => ({ series: expr, values });
    const labels = 'job="node",node="hub",db="mesh"';
    const test = {
      rule_files: ["db-backup.yml"],
      evaluation_interval: "1m",
      tests: [
        {
          // At t=0 the newest backup is 27 h old (-97200 s): too old; the run at t=0 failed.
          interval: "1m",
          input_series: [
            s(`meshisp_db_backup_last_success_timestamp_seconds{${labels}}`, "-97200x20"),
            s(`meshisp_db_backup_last_run_timestamp_seconds{${labels}}`, "0x20"),
            s(`meshisp_db_backup_last_run_success{${labels}}`, "0x20"),
            s(`meshisp_db_backup_last_size_bytes{${labels}}`, "400x20"),
            s(`meshisp_db_backup_previous_size_bytes{${labels}}`, "1000x20"),
          ],
          alert_rule_test: [
            {
              eval_time: "10m",
              alertname: "DatabaseBackupTooOld",
              exp_alerts: [{ exp_labels: { severity: "critical", job: "node", node: "hub", db: "mesh" } }],
            },
            {
              eval_time: "10m",
              alertname: "DatabaseBackupFailed",
              exp_alerts: [{ exp_labels: { severity: "warning", job: "node", node: "hub", db: "mesh" } }],
            },
            {
              eval_time: "10m",
              alertname: "DatabaseBackupShrank",
              exp_alerts: [{ exp_labels: { severity: "warning", job: "node", node: "hub", db: "mesh" } }],
            },
            { eval_time: "10m", alertname: "DatabaseBackupNeverRan", exp_alerts: [] },
          ],
        },
        {
          // A backup 2 h old, of the usual size, the last run good: quiet.
          interval: "1m",
          input_series: [
            s(`meshisp_db_backup_last_success_timestamp_seconds{${labels}}`, "-7200x20"),
            s(`meshisp_db_backup_last_run_timestamp_seconds{${labels}}`, "-7200x20"),
            s(`meshisp_db_backup_last_run_success{${labels}}`, "1x20"),
            s(`meshisp_db_backup_last_size_bytes{${labels}}`, "1000x20"),
            s(`meshisp_db_backup_previous_size_bytes{${labels}}`, "990x20"),
          ],
          alert_rule_test: [
            "DatabaseBackupTooOld",
            "DatabaseBackupFailed",
            "DatabaseBackupShrank",
            "DatabaseBackupNeverRan",
          ].map((alertname) => ({ eval_time: "10m", alertname, exp_alerts: [] })),
        },
        {
          // No series at all for longer than the allowed age.
          interval: "1h",
          input_series: [s(`up{job="node",node="hub"}`, "1x30")],
          alert_rule_test: [
            { eval_time: "25h", alertname: "DatabaseBackupNeverRan", exp_alerts: [] },
            {
              eval_time: "27h",
              alertname: "DatabaseBackupNeverRan",
              exp_alerts: [{ exp_labels: { severity: "warning" } }],
            },
          ],
        },
      ],
    };
    writeFileSync(join(dir, "db-backup.test.yml"), YAML.stringify(test));
    const r = promtool(["test", "rules", "db-backup.test.yml"]);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    // The tests can fail: the same tests against a rule that never fires.
    expect(alerts).toContain("> 93600\n");
    writeFileSync(join(dir, "db-backup.yml"), alerts.replace("> 93600\n", "> 1e12\n"));
    const broken = promtool(["test", "rules", "db-backup.test.yml"]);
    expect(broken.status).not.toBe(0);
    expect(`${broken.stdout}${broken.stderr}`).toContain("DatabaseBackupTooOld");
    writeFileSync(join(dir, "db-backup.yml"), alerts);
  });
});

describe("bad docker_backup_* values are refused, naming the host and the variable", () => {
  const rows: [string, Record<string, unknown>, RegExp][] = [
    [
      "a time without its leading zero",
      { docker_backup_time: "3:30" },
      /^hub: docker_backup_time is "3:30"; expected a time of day as HH:MM/,
    ],
    ["a time past midnight", { docker_backup_time: "24:00" }, /docker_backup_time is "24:00"/],
    [
      "no days kept",
      { docker_backup_keep_days: 0 },
      /docker_backup_keep_days is 0; expected a whole number of days, 1 or more/,
    ],
    [
      "a relative directory",
      { docker_backup_dir: "backups" },
      /docker_backup_dir is "backups"; expected an absolute directory/,
    ],
    ["a directory with a space", { docker_backup_dir: "/var/my backups" }, /docker_backup_dir is "\/var\/my backups"/],
    ["the root", { docker_backup_dir: "/" }, /docker_backup_dir is "\/"/],
    [
      "an alert within a day",
      { docker_backup_max_age_hours: 12 },
      /docker_backup_max_age_hours is 12; expected more than 24 hours/,
    ],
  ];
  it.each(rows)("%s", (_name, extra, message) => {
    const ctx = ctxFor(extra);
    expect(() => backupSettings("hub", varsOf(ctx))).toThrow(UserError);
    expect(() => backupSettings("hub", varsOf(ctx))).toThrow(message);
  });

  it("the defaults pass", () => {
    expect(backupSettings("hub", varsOf(ctxFor()))).toEqual({
      time: "03:30",
      keepDays: 14,
      dir: "/var/backups/meshisp/postgres",
      maxAgeHours: 26,
    });
  });
});
