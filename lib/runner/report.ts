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
  /** Stopped by Ctrl-C before it finished (what it did is done; a re-run finishes the rest). */
  interrupted?: boolean;
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

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * The run's last line, after the recap: "done: 3 hosts, 2 changed, 0 failed", "FAILED: ...", "check mode: 4 changes
 * would be made ...", or "interrupted: ..." (the exit code says the same; this says it to a person).
 */
export function verdict(
  recaps: readonly HostRecap[],
  options: { check?: boolean; interrupted?: boolean } = {},
): string {
  const changes = recaps.reduce((n, r) => n + r.changed, 0);
  const changedHosts = recaps.filter((r) => r.changed > 0).length;
  const failed = recaps.filter((r) => r.failed > 0 && !r.unreachable);
  const unreachable = recaps.filter((r) => r.unreachable);
  const stopped = recaps.filter((r) => r.interrupted);
  const hosts = plural(recaps.length, "host");
  if (options.interrupted)
    return `interrupted: ${hosts} ran${stopped.length ? ` (${stopped.map((r) => r.host).join(", ")} stopped before their changes)` : ""}, ${plural(changes, "change")} made; the rest was not started`;
  if (failed.length || unreachable.length) {
    const parts = [
      failed.length ? `${failed.length} failed (${failed.map((r) => r.host).join(", ")})` : "",
      unreachable.length ? `${unreachable.length} unreachable (${unreachable.map((r) => r.host).join(", ")})` : "",
    ].filter(Boolean);
    const fine = recaps.length - failed.length - unreachable.length;
    return `FAILED${options.check ? " (check mode)" : ""}: ${parts.join(", ")} of ${hosts}; ${fine} fine${options.check ? "" : `, ${plural(changes, "change")} made`}; the messages above say what to do`;
  }
  if (options.check)
    return changes
      ? `check mode: ${plural(changes, "change")} would be made on ${changedHosts} of ${hosts}; nothing was changed`
      : `check mode: nothing to change on ${hosts}`;
  return `done: ${hosts}, ${changedHosts} changed (${plural(changes, "change")}), 0 failed`;
}
