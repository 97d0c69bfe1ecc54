// How a play's hosts are shown while they run: listr's live view on a terminal; plain lines elsewhere (a log, a pipe,
// CI: no spinner glyphs, no ANSI codes, one line per change as it is known); nothing at all for tests ("silent").
import type { Host } from "../inventory/types.ts";
import type { HostRecap, Reporter, TaskEvent } from "./report.ts";

type ProgressKind = "listr" | "plain" | "silent";

interface HostsRun {
  title: string;
  hosts: readonly Host[];
  forks: number;
  /** Where every event is recorded (the session's RecordingReporter). */
  record: Reporter;
  /** Runs one host with the reporter its events go to. */
  runOne(host: Host, reporter: Reporter): Promise<HostRecap>;
  /** Told which reporter shows a host's notices (first-contact host keys arrive from the connection, not the run). */
  showsNotices(host: string, reporter: Reporter): void;
  /** Aborted (Ctrl-C): hosts not yet started are left alone; those running stop at their next phase. */
  signal?: AbortSignal;
  /** Where plain lines go (default: stdout). */
  write?: (line: string) => void;
}

/** "listr" on a terminal, "plain" elsewhere: listr's own fallback keeps its glyphs, which a log does not want. */
export const progressKind = (requested: "listr" | "silent" | undefined, tty = process.stdout.isTTY): ProgressKind =>
  requested !== "listr" ? "silent" : tty ? "listr" : "plain";

/** Runs the hosts `forks` at a time, shown as `kind` says; the recaps of the hosts that ran, in the hosts' order. */
export async function runHosts(run: HostsRun, kind: ProgressKind): Promise<HostRecap[]> {
  if (kind === "listr") return runListr(run);
  const recaps: HostRecap[] = [];
  const write = run.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const queue = [...run.hosts];
  await Promise.all(
    Array.from({ length: Math.min(run.forks, queue.length) }, async () => {
      for (let host = queue.shift(); host && !run.signal?.aborted; host = queue.shift()) {
        const reporter = kind === "plain" ? plainReporter(run.title, run.record, write) : run.record;
        run.showsNotices(host.name, reporter);
        const recap = await run.runOne(host, reporter);
        if (kind === "plain") write(`${run.title}: ${host.name}: ${hostWord(recap)}`);
        recaps.push(recap);
      }
    }),
  );
  return order(recaps, run.hosts);
}

/** One line per change, failure or notice, prefixed with the play and host; the details indented under it. */
function plainReporter(title: string, record: Reporter, write: (line: string) => void): Reporter {
  return {
    task(e: TaskEvent) {
      record.task(e);
      if (e.status === "ok") return;
      const [head, ...rest] = lineFor(e).split("\n");
      write(`${title}: ${e.host}: ${head}`);
      for (const line of rest) write(`    ${line}`);
    },
    notice(host, message) {
      record.notice(host, message);
      write(`${title}: ${host}: NOTICE ${message}`);
    },
    hostDone: (r) => record.hostDone(r),
  };
}

async function runListr(run: HostsRun): Promise<HostRecap[]> {
  // listr2 only where it draws (a terminal): plain and silent runs never load it.
  const { Listr } = await import("listr2");
  const recaps: HostRecap[] = [];
  const list = new Listr(
    run.hosts.map((host) => ({
      title: `${run.title}: ${host.name}`,
      task: async (_ctx: unknown, task: { title: string; output: string; skip(message?: string): void }) => {
        if (run.signal?.aborted) return task.skip(`${run.title}: ${host.name}: not started (interrupted)`);
        const reporter: Reporter = {
          task: (e: TaskEvent) => {
            run.record.task(e);
            if (e.status !== "ok") task.output = lineFor(e);
          },
          notice: (h, m) => {
            run.record.notice(h, m);
            task.output = `NOTICE ${m}`;
          },
          hostDone: (r) => run.record.hostDone(r),
        };
        run.showsNotices(host.name, reporter);
        const recap = await run.runOne(host, reporter);
        recaps.push(recap);
        task.title = `${run.title}: ${host.name} ${hostWord(recap)}`;
        if (recap.failed || recap.unreachable) throw new Error(recap.error ?? "failed");
      },
    })),
    {
      concurrent: run.forks,
      exitOnError: false,
      renderer: "default",
      fallbackRenderer: "simple",
      rendererOptions: { collapseSubtasks: false, showErrorMessage: false, persistentOutput: true },
      silentRendererCondition: false,
    } as never,
  );
  await list.run().catch(() => undefined);
  return order(recaps, run.hosts);
}

const hostWord = (r: HostRecap) =>
  r.interrupted
    ? "INTERRUPTED"
    : r.unreachable
      ? "UNREACHABLE"
      : r.failed
        ? "FAILED"
        : r.changed
          ? `changed=${r.changed}`
          : "ok";

const order = (recaps: HostRecap[], hosts: readonly Host[]) =>
  hosts.map((h) => recaps.find((r) => r.host === h.name)!).filter(Boolean);

/** A task's line and what -v and --diff add under it: its error, its diff, its commands (as people read them). */
function lineFor(e: TaskEvent): string {
  const head = `${e.status.toUpperCase()} ${e.task}${e.summary ? ` (${e.summary})` : ""}`;
  return [head, e.error, e.diff?.trimEnd(), ...(e.commands ?? []).map((c) => `  $ ${c}`)].filter(Boolean).join("\n");
}
