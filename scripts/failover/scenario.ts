// The failover test: cut each uplink alone, then all of them, and check what the hub's LAN sees. Returns a report;
// everything it cut is restored (finally), also when a check fails or the mesh misbehaves.
import type { FailoverAccess } from "./access.ts";
import { connectionRecovery, measureAround, routeChange, via, waitForRoute } from "./measure.ts";

export interface Limits {
  /** New connections must work again within this many seconds of a cut. */
  failoverSeconds: number;
  /** An uplink back upstream must be back in the route within this many seconds. */
  recoverySeconds: number;
  /** Pings (one every 20 ms) a single switch may lose. */
  maxLostPings: number;
}
export const DEFAULT_LIMITS: Limits = { failoverSeconds: 3, recoverySeconds: 5, maxLostPings: 100 };

export interface Check {
  step: string;
  ok: boolean;
  detail: string;
}
export interface CutFigures {
  uplink: string;
  /** Seconds until the hub's route dropped the uplink. */
  routeSwitch: number | null;
  /** Seconds until new connections from the LAN succeeded again (0: none failed). */
  newConnections: number | null;
  failedConnections: number;
  pingsLost: number;
  /** Seconds until the uplink was back in the route once its upstream returned. */
  recovery: number | null;
}
export interface FailoverReport {
  target: string;
  cuts: CutFigures[];
  backup: { routeSwitch: number | null; newConnections: number | null; pingsLost: number; viaBackup: boolean; backOnUplink: number | null; leftBackup: boolean } | null;
  checks: Check[];
  ok: boolean;
}

const fmt = (s: number | null) => (s === null ? "never" : `${s.toFixed(2)} s`);

export async function runFailoverTest(access: FailoverAccess, limits: Limits = DEFAULT_LIMITS, log: (line: string) => void = () => undefined): Promise<FailoverReport> {
  const checks: Check[] = [];
  const check = (step: string, ok: boolean, detail: string) => {
    checks.push({ step, ok, detail });
    log(`${ok ? "PASS" : "FAIL"} ${step}: ${detail}`);
  };
  const all = (route: string) => access.uplinks.every((u) => via(u.dev)(route));
  const report: FailoverReport = { target: access.describe, cuts: [], backup: null, checks, ok: false };
  try {
    check("all uplinks in the hub's route", (await waitForRoute(access, all, 15)) !== null, access.uplinks.map((u) => `${u.name} (${u.dev})`).join(", "));
    const fetch = await access.lan(`curl -s -o /dev/null -w '%{http_code}' --connect-timeout 2 -m 3 '${access.url.replace(/'/g, "")}'`);
    check("the hub's LAN reaches the internet", fetch.code === 0, `GET ${access.url}: ${fetch.stdout || fetch.stderr.trim() || `exit ${fetch.code}`}`);

    for (const u of access.uplinks) {
      log(`cutting ${u.name}'s upstream`);
      const m = await measureAround(access, 3.5, () => access.cut(u.name));
      const fig: CutFigures = {
        uplink: u.name,
        routeSwitch: routeChange(m, (r) => !via(u.dev)(r)),
        newConnections: connectionRecovery(m),
        failedConnections: m.attempts.filter((a) => !a.ok && a.t >= m.at - 0.05).length,
        pingsLost: m.pingLost,
        recovery: null,
      };
      await access.restore(u.name);
      fig.recovery = await waitForRoute(access, all, 15);
      report.cuts.push(fig);
      check(`${u.name} cut: route switched`, fig.routeSwitch !== null && fig.routeSwitch <= limits.failoverSeconds, fmt(fig.routeSwitch));
      check(
        `${u.name} cut: new connections`,
        fig.newConnections !== null && fig.newConnections <= limits.failoverSeconds,
        `${fmt(fig.newConnections)} (${fig.failedConnections} of ${m.attempts.length} failed)`,
      );
      check(`${u.name} cut: pings lost`, fig.pingsLost <= limits.maxLostPings, `${fig.pingsLost} of ${m.pingSent} (${fig.pingsLost * 20} ms at 20 ms)`);
      check(`${u.name} back: in the route again`, fig.recovery !== null && fig.recovery <= limits.recoverySeconds, fmt(fig.recovery));
    }

    log("cutting every uplink's upstream");
    const backupBefore = await access.backupFlows();
    const m = await measureAround(access, 3.5, async () => {
      for (const u of access.uplinks) await access.cut(u.name);
    });
    const backupAfter = await access.backupFlows();
    const none = (r: string) => !access.uplinks.some((u) => via(u.dev)(r));
    const b = {
      routeSwitch: routeChange(m, (r) => none(r) && (access.hasBackup ? /via/.test(r) : true)),
      newConnections: connectionRecovery(m),
      pingsLost: m.pingLost,
      viaBackup: backupAfter > backupBefore,
      backOnUplink: null as number | null,
      leftBackup: false,
    };
    report.backup = b;
    if (access.hasBackup) {
      check("all cut: route on the backup", b.routeSwitch !== null && b.routeSwitch <= limits.failoverSeconds, fmt(b.routeSwitch));
      check("all cut: new connections through the backup", b.viaBackup && b.newConnections !== null && b.newConnections <= limits.failoverSeconds, `${fmt(b.newConnections)}, backup NAT entries ${backupBefore} -> ${backupAfter}`);
    } else {
      check("all cut: no backup tier, traffic stops", b.routeSwitch !== null, `route ${fmt(b.routeSwitch)}`);
    }
    const first = access.uplinks[0];
    await access.restore(first.name);
    b.backOnUplink = await waitForRoute(access, via(first.dev), 15);
    check(`${first.name} back: the route leaves the backup`, b.backOnUplink !== null && b.backOnUplink <= limits.recoverySeconds, fmt(b.backOnUplink));
    const [backupMid, uplinkMid] = [await access.backupFlows(), await access.uplinkFlows(first.name)];
    await access.lan(`i=0; while [ $i -lt 10 ]; do curl -s -o /dev/null --connect-timeout 1 -m 2 '${access.url.replace(/'/g, "")}'; i=$((i+1)); done`);
    const [backupEnd, uplinkEnd] = [await access.backupFlows(), await access.uplinkFlows(first.name)];
    b.leftBackup = backupEnd === backupMid && uplinkEnd > uplinkMid;
    check(`${first.name} back: new connections through ${first.name}`, b.leftBackup, `${first.name} NAT entries ${uplinkMid} -> ${uplinkEnd}, backup ${backupMid} -> ${backupEnd}`);
    for (const u of access.uplinks.slice(1)) await access.restore(u.name);
    check("everything restored: all uplinks in the route", (await waitForRoute(access, all, 15)) !== null, "");
  } finally {
    await access.close();
  }
  report.ok = checks.every((c) => c.ok);
  return report;
}

/** The report as people read it. */
export function formatReport(r: FailoverReport): string {
  const lines = [`Failover test against ${r.target}`, ""];
  lines.push("uplink cut     route switch  new connections  pings lost  back in route");
  for (const c of r.cuts) {
    lines.push(`${c.uplink.padEnd(14)} ${fmt(c.routeSwitch).padEnd(13)} ${fmt(c.newConnections).padEnd(16)} ${String(c.pingsLost).padEnd(11)} ${fmt(c.recovery)}`);
  }
  if (r.backup) {
    lines.push(
      `${"all".padEnd(14)} ${fmt(r.backup.routeSwitch).padEnd(13)} ${fmt(r.backup.newConnections).padEnd(16)} ${String(r.backup.pingsLost).padEnd(11)} ${fmt(r.backup.backOnUplink)}` +
        `  (through the backup: ${r.backup.viaBackup ? "yes" : "no"}; back on an uplink: ${r.backup.leftBackup ? "yes" : "no"})`,
    );
  }
  lines.push("", ...r.checks.map((c) => `${c.ok ? "PASS" : "FAIL"}  ${c.step}${c.detail ? `: ${c.detail}` : ""}`), "", r.ok ? "RESULT: PASS" : "RESULT: FAIL");
  return lines.join("\n");
}
