// The failover test: for each way an uplink dies (its home's line, its radio link), cut each uplink alone, then all of
// them (the backup carries), then bring one back, and check what the hub's LAN sees. Returns a report; everything it
// cut is restored (finally), also when a check fails or the mesh misbehaves.
import type { CutKind, FailoverAccess, UplinkInfo } from "./access.ts";
import { CUT_KINDS } from "./access.ts";
import { connectionRecovery, measureAround, routeChange, via, waitForRoute, type Measurement } from "./measure.ts";

export interface Limits {
  /** New connections must work again within this many seconds of a cut. */
  failoverSeconds: number;
  /** An uplink back upstream must be back in the route within this many seconds. */
  recoverySeconds: number;
  /** Pings (one every 20 ms) a single switch may lose. */
  maxLostPings: number;
}
/**
 * Measured in the lab at load 6-17 on 2 cores (checker: 0.2 s probes, down after 2 misses, up after 3 answers): route
 * switch 1.1-1.7 s for a line cut and 1.1-1.7 s for a radio cut (Nebula's tunnel dies with the radio, the probes
 * fail the same way), new connections 0-2.4 s, 0-50 pings lost for the flow on the cut uplink, back in the route
 * 0.9-2.5 s after the line or radio returns (the radio's Nebula tunnel resumes without a new handshake within these
 * few seconds); the internet topology's line cuts alike (1.1-1.6 s, 0-2.0 s, 0-56, 1.1-2.0 s).
 */
export const DEFAULT_LIMITS: Limits = { failoverSeconds: 3, recoverySeconds: 5, maxLostPings: 100 };

interface Check {
  step: string;
  ok: boolean;
  detail: string;
}
interface CutFigures {
  uplink: string;
  kind: CutKind;
  /** Seconds until the hub's route dropped the uplink. */
  routeSwitch: number | null;
  /** Seconds until new connections from the LAN succeeded again (0: none failed). */
  newConnections: number | null;
  failedConnections: number;
  pingsLost: number;
  /** Seconds until the uplink was back in the route once its line or radio returned. */
  recovery: number | null;
}
interface BackupFigures {
  /** The phase's cut: every uplink loses this (an uplink without it, e.g. a remote one in the radio phase, its line). */
  kind: CutKind;
  routeSwitch: number | null;
  newConnections: number | null;
  pingsLost: number;
  viaBackup: boolean;
  backOnUplink: number | null;
  leftBackup: boolean;
}
export interface FailoverReport {
  target: string;
  cuts: CutFigures[];
  /** One per phase (kind), in the order run. */
  backups: BackupFigures[];
  checks: Check[];
  ok: boolean;
  /** On a failure: the end of the hub's checker log (its own view of the uplinks and each route it set). */
  checkerLog?: string;
}
export interface FailoverOptions {
  limits?: Limits;
  /** Phases to run, in order (default: every kind some uplink can have cut). */
  kinds?: CutKind[];
  log?: (line: string) => void;
}

/**
 * How long after a cut the probes keep watching, beyond the failover limit. Not longer: on the live mesh a radio cut
 * lifts itself after --radio-cut-seconds (6 in the routing lab test), and in the every-uplink cut the first router's
 * radio may come back soon after; the connections broken by that return (the backup's flows forgotten) must not
 * count as the cut's.
 */
const OBSERVE_AFTER_LIMIT_SECONDS = 0.5;
/** How long the test waits for an uplink back upstream to return to the route (its limit is recoverySeconds). */
const RETURN_WAIT_SECONDS = 15;

const fmt = (s: number | null) => (s === null ? "never" : `${s.toFixed(2)} s`);
/** A figure against its limit, for a check's detail: "1.25 s (limit 3.00 s)", "never within 4.00 s (limit 3.00 s)". */
export const against = (s: number | null, limit: number, watched: number) =>
  `${s === null ? `never within ${watched.toFixed(2)} s` : fmt(s)} (limit ${limit.toFixed(2)} s)`;
const WHAT: Record<CutKind, string> = { line: "line", radio: "radio link" };

/** The checker's log on the hub: procd's (logread: the lab's hosts, an OpenWrt hub) or systemd's journal. */
const CHECKER_LOG =
  "{ logread -e meshisp-failover 2>/dev/null || journalctl -u meshisp-failover --no-pager -o short-precise 2>/dev/null; } | tail -n 60";

/** The phases a mesh allows: "line" for every uplink, "radio" when at least one uplink is on the backhaul. */
export const phasesOf = (uplinks: UplinkInfo[]): CutKind[] =>
  CUT_KINDS.filter((k) => uplinks.some((u) => u.cuts.includes(k)));

export async function runFailoverTest(access: FailoverAccess, options: FailoverOptions = {}): Promise<FailoverReport> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const log = options.log ?? (() => undefined);
  const checks: Check[] = [];
  const check = (step: string, ok: boolean, detail: string) => {
    checks.push({ step, ok, detail });
    log(`${ok ? "PASS" : "FAIL"} ${step}: ${detail}`);
  };
  const all = (route: string) => access.uplinks.every((u) => via(u.dev)(route));
  const report: FailoverReport = { target: access.describe, cuts: [], backups: [], checks, ok: false };
  const curl = `'${access.url.replace(/'/g, "")}'`;
  try {
    check(
      "all uplinks in the hub's route",
      (await waitForRoute(access, all, 15)) !== null,
      access.uplinks.map((u) => `${u.name} (${u.dev})`).join(", "),
    );
    const fetch = await access.lan(`curl -s -o /dev/null -w '%{http_code}' --connect-timeout 2 -m 3 ${curl}`);
    check(
      "the hub's LAN reaches the internet",
      fetch.code === 0,
      `GET ${access.url}: ${fetch.stdout || fetch.stderr.trim() || `exit ${fetch.code}`}`,
    );

    const observe = limits.failoverSeconds + OBSERVE_AFTER_LIMIT_SECONDS;
    for (const kind of options.kinds ?? phasesOf(access.uplinks)) {
      for (const u of access.uplinks.filter((x) => x.cuts.includes(kind))) {
        log(`cutting ${u.name}'s ${WHAT[kind]}`);
        const m = await measureAround(access, observe, () => access.cut(u.name, kind));
        const fig: CutFigures = {
          uplink: u.name,
          kind,
          routeSwitch: routeChange(m, (r) => !via(u.dev)(r)),
          newConnections: connectionRecovery(m),
          failedConnections: m.attempts.filter((a) => !a.ok && a.t >= m.at - 0.05).length,
          pingsLost: m.pingLost,
          recovery: null,
        };
        log(`restoring ${u.name}'s ${WHAT[kind]}; waiting for it in the route (limit ${limits.recoverySeconds} s)`);
        await access.restore(u.name, kind);
        fig.recovery = await waitForRoute(access, all, RETURN_WAIT_SECONDS);
        report.cuts.push(fig);
        const step = `${u.name} ${WHAT[kind]} cut`;
        check(
          `${step}: route switched`,
          fig.routeSwitch !== null && fig.routeSwitch <= limits.failoverSeconds,
          against(fig.routeSwitch, limits.failoverSeconds, observe),
        );
        check(
          `${step}: new connections`,
          fig.newConnections !== null && fig.newConnections <= limits.failoverSeconds,
          `${against(fig.newConnections, limits.failoverSeconds, observe)}; ${failures(m)}`,
        );
        check(
          `${step}: pings lost`,
          fig.pingsLost <= limits.maxLostPings,
          `${fig.pingsLost} of ${m.pingSent} (${fig.pingsLost * 20} ms at 20 ms; limit ${limits.maxLostPings})`,
        );
        check(
          `${u.name} ${WHAT[kind]} back: in the route again`,
          fig.recovery !== null && fig.recovery <= limits.recoverySeconds,
          against(fig.recovery, limits.recoverySeconds, RETURN_WAIT_SECONDS),
        );
      }
      report.backups.push(await allCut(access, kind, limits, check, log));
    }
    if (checks.some((c) => !c.ok)) report.checkerLog = (await access.hub(CHECKER_LOG)).stdout.trimEnd();
  } finally {
    await access.close();
  }
  report.ok = checks.every((c) => c.ok);
  return report;
}

/** Every uplink cut (by `kind` where it has it, else its line): the backup carries; then the first uplink takes over. */
async function allCut(
  access: FailoverAccess,
  kind: CutKind,
  limits: Limits,
  check: (step: string, ok: boolean, detail: string) => void,
  log: (line: string) => void,
): Promise<BackupFigures> {
  const kindOf = (u: UplinkInfo): CutKind => (u.cuts.includes(kind) ? kind : "line");
  const curl = `'${access.url.replace(/'/g, "")}'`;
  const step = `all cut (${WHAT[kind]})`;
  log(`cutting every uplink (${access.uplinks.map((u) => `${u.name}'s ${WHAT[kindOf(u)]}`).join(", ")})`);
  const backupBefore = await access.backupFlows();
  const observe = limits.failoverSeconds + OBSERVE_AFTER_LIMIT_SECONDS;
  const m = await measureAround(access, observe, async () => {
    for (const u of access.uplinks) await access.cut(u.name, kindOf(u));
  });
  const backupAfter = await access.backupFlows();
  const none = (r: string) => !access.uplinks.some((u) => via(u.dev)(r));
  const b: BackupFigures = {
    kind,
    routeSwitch: routeChange(m, (r) => none(r) && (access.hasBackup ? /via/.test(r) : true)),
    newConnections: connectionRecovery(m),
    pingsLost: m.pingLost,
    viaBackup: backupAfter > backupBefore,
    backOnUplink: null,
    leftBackup: false,
  };
  if (access.hasBackup) {
    check(
      `${step}: route on the backup`,
      b.routeSwitch !== null && b.routeSwitch <= limits.failoverSeconds,
      against(b.routeSwitch, limits.failoverSeconds, observe),
    );
    check(
      `${step}: new connections through the backup`,
      b.viaBackup && b.newConnections !== null && b.newConnections <= limits.failoverSeconds,
      `${against(b.newConnections, limits.failoverSeconds, observe)}; ${failures(m)}; backup NAT entries ${backupBefore} -> ${backupAfter}`,
    );
  } else {
    check(
      `${step}: no backup tier, traffic stops`,
      b.routeSwitch !== null,
      `route ${b.routeSwitch === null ? `unchanged within ${observe.toFixed(2)} s` : fmt(b.routeSwitch)}`,
    );
  }
  const [first, ...rest] = access.uplinks;
  log(`restoring ${first.name}'s ${WHAT[kindOf(first)]}; waiting for the route to leave the backup`);
  await access.restore(first.name, kindOf(first));
  b.backOnUplink = await waitForRoute(access, via(first.dev), RETURN_WAIT_SECONDS);
  check(
    `${step}, ${first.name} back: the route leaves the backup`,
    b.backOnUplink !== null && b.backOnUplink <= limits.recoverySeconds,
    against(b.backOnUplink, limits.recoverySeconds, RETURN_WAIT_SECONDS),
  );
  const [backupMid, uplinkMid] = [await access.backupFlows(), await access.uplinkFlows(first.name)];
  await access.lan(
    `i=0; while [ $i -lt 10 ]; do curl -s -o /dev/null --connect-timeout 1 -m 2 ${curl}; i=$((i+1)); done`,
  );
  const [backupEnd, uplinkEnd] = [await access.backupFlows(), await access.uplinkFlows(first.name)];
  b.leftBackup = backupEnd === backupMid && uplinkEnd > uplinkMid;
  check(
    `${step}, ${first.name} back: new connections through ${first.name}`,
    b.leftBackup,
    `${first.name} NAT entries ${uplinkMid} -> ${uplinkEnd}, backup ${backupMid} -> ${backupEnd}`,
  );
  log(`restoring the others (${rest.map((u) => u.name).join(", ") || "none"})`);
  for (const u of rest) await access.restore(u.name, kindOf(u));
  const all = (route: string) => access.uplinks.every((u) => via(u.dev)(route));
  const back = await waitForRoute(access, all, RETURN_WAIT_SECONDS);
  check(
    `${step}, everything restored: all uplinks in the route`,
    back !== null,
    back === null ? `not within ${RETURN_WAIT_SECONDS} s` : fmt(back),
  );
  return b;
}

/** The failed attempts of a measurement after its action, by curl's exit code: "3 of 40 failed (28: timed out x3)". */
export function failures(m: Measurement): string {
  const after = m.attempts.filter((a) => a.t >= m.at - 0.05);
  const failed = after.filter((a) => !a.ok);
  const codes = new Map<number | undefined, number>();
  for (const a of failed) codes.set(a.code, (codes.get(a.code) ?? 0) + 1);
  const why = [...codes].map(
    ([code, n]) => `${code === undefined ? "?" : `${code}${CURL_CODES[code] ? `: ${CURL_CODES[code]}` : ""}`} x${n}`,
  );
  return `${failed.length} of ${after.length} failed${why.length ? ` (${why.join(", ")})` : ""}`;
}
const CURL_CODES: Record<number, string> = { 7: "could not connect", 28: "timed out", 56: "connection reset" };

/** The report as people read it. */
export function formatReport(r: FailoverReport): string {
  const lines = [`Failover test against ${r.target}`, ""];
  lines.push("cut                    route switch  new connections  pings lost  back in route");
  const row = (what: string, a: number | null, b: number | null, lost: number, c: number | null) =>
    `${what.padEnd(22)} ${fmt(a).padEnd(13)} ${fmt(b).padEnd(16)} ${String(lost).padEnd(11)} ${fmt(c)}`;
  for (const kind of CUT_KINDS) {
    for (const c of r.cuts.filter((x) => x.kind === kind))
      lines.push(row(`${c.uplink} ${kind}`, c.routeSwitch, c.newConnections, c.pingsLost, c.recovery));
    for (const b of r.backups.filter((x) => x.kind === kind)) {
      lines.push(
        `${row(`all (${kind})`, b.routeSwitch, b.newConnections, b.pingsLost, b.backOnUplink)}  (through the backup: ${b.viaBackup ? "yes" : "no"}; back on an uplink: ${b.leftBackup ? "yes" : "no"})`,
      );
    }
  }
  if (r.checkerLog) lines.push("", "The hub's checker (meshisp-failover), its last lines:", r.checkerLog);
  lines.push(
    "",
    ...r.checks.map((c) => `${c.ok ? "PASS" : "FAIL"}  ${c.step}${c.detail ? `: ${c.detail}` : ""}`),
    "",
    r.ok ? "RESULT: PASS" : "RESULT: FAIL",
  );
  return lines.join("\n");
}
