// What a run tells people: per-task results, per-host recap, and the events tests compare.
type TaskStatus = "ok" | "changed" | "failed" | "skipped";

export interface TaskEvent {
  host: string;
  task: string;
  status: TaskStatus;
  /** What changed (or would, under --check), e.g. "create", "mode 0644 -> 0600". */
  summary?: string;
  /** Unified diff, secrets already masked; only under --diff. */
  diff?: string;
  /** Displayed commands (secrets as ***); only under -v. */
  commands?: string[];
  error?: string;
}

export interface HostRecap {
  host: string;
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: boolean;
  /** Command round trips used on this host (the performance budget). */
  roundTrips: number;
  error?: string;
}

export interface Reporter {
  task(event: TaskEvent): void;
  /** Loud notices: first-contact host keys, pending handlers picked up. */
  notice(host: string, message: string): void;
  hostDone(recap: HostRecap): void;
}

/** Collects everything; tests assert on it and the CLI's renderers read it. */
export class RecordingReporter implements Reporter {
  readonly events: TaskEvent[] = [];
  readonly notices: { host: string; message: string }[] = [];
  readonly recaps: HostRecap[] = [];
  task(event: TaskEvent): void {
    this.events.push(event);
  }
  notice(host: string, message: string): void {
    this.notices.push({ host, message });
  }
  hostDone(recap: HostRecap): void {
    this.recaps.push(recap);
  }
  changed(host?: string): TaskEvent[] {
    return this.events.filter((e) => e.status === "changed" && (!host || e.host === host));
  }
}

export function formatRecap(recaps: readonly HostRecap[]): string {
  const width = Math.max(4, ...recaps.map((r) => r.host.length));
  return recaps
    .map(
      (r) =>
        `${r.host.padEnd(width)}  ok=${r.ok}  changed=${r.changed}  failed=${r.failed}  unreachable=${r.unreachable ? 1 : 0}  skipped=${r.skipped}  round-trips=${r.roundTrips}`,
    )
    .join("\n");
}

/** In Ansible's spirit: 2 when a host failed, 4 when one was unreachable (and none failed), else 0. */
export function exitCode(recaps: readonly HostRecap[]): number {
  if (recaps.some((r) => r.failed > 0)) return 2;
  if (recaps.some((r) => r.unreachable)) return 4;
  return 0;
}

/** Adds up the recaps of several plays run in one session, host by host. */
export function mergeRecaps(...plays: HostRecap[][]): HostRecap[] {
  const byHost = new Map<string, HostRecap>();
  for (const r of plays.flat()) {
    const seen = byHost.get(r.host);
    if (!seen) byHost.set(r.host, { ...r });
    else {
      seen.ok += r.ok;
      seen.changed += r.changed;
      seen.failed += r.failed;
      seen.skipped += r.skipped;
      seen.roundTrips += r.roundTrips;
      seen.unreachable ||= r.unreachable;
      seen.error = seen.error ?? r.error;
    }
  }
  return [...byHost.values()];
}
