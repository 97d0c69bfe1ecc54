// One host through one play, phase by phase: connect, identify, build, gather, (install), plan, show, apply.
import { Interrupted, TransportError, UserError } from "../errors.ts";
import type { HostFacts } from "../facts/host.ts";
import type { Host, Inventory } from "../inventory/types.ts";
import type { Play } from "../play.ts";
import type { Transport } from "../transport/types.ts";
import { applySteps } from "./apply.ts";
import { buildTasks } from "./build.ts";
import { identifyAndGather } from "./first-gather.ts";
import { installPhase } from "./install-phase.ts";
import { handlerSteps, notifiedBy, pickedUpPending, planTasks } from "./plan.ts";
import type { HostRecap, Reporter } from "./report.ts";
import { fetchDiffs, reportOk, reportPickedUp, reportWouldChange } from "./show.ts";
import type { HostRun, RunOptions } from "./steps.ts";

export type { RunOptions };

/**
 * `connect` gives the host's transport (the session's SSH connection; a local shell in tests): nothing here knows
 * which. Every failure ends in the recap: unreachable, a user's mistake or a failed command (the host's error).
 */
export async function runHost(
  play: Play,
  host: Host,
  inventory: Inventory,
  connect: () => Promise<Transport>,
  options: RunOptions,
  reporter: Reporter,
): Promise<HostRecap> {
  const recap: HostRecap = {
    host: host.name,
    ok: 0,
    changed: 0,
    failed: 0,
    skipped: 0,
    unreachable: false,
    roundTrips: 0,
  };
  let transport: Transport | undefined;
  let roundTripsBefore = 0;
  try {
    transport = await connect();
    roundTripsBefore = transport.roundTrips;
    await converge({ host, transport, options, reporter, recap }, play, inventory);
  } catch (err) {
    reportFailure(recap, reporter, err);
  } finally {
    recap.roundTrips = transport ? transport.roundTrips - roundTripsBefore : 0;
    reporter.hostDone(recap);
  }
  return recap;
}

async function converge(run: HostRun, play: Play, inventory: Inventory): Promise<void> {
  const { host, transport, options } = run;
  // Gather: who the host is and every fact the tasks need, in one round trip when the guess holds (first-gather.ts).
  const build = (f: HostFacts) => buildTasks(play, host, inventory, f, options);
  let { facts, built, gathered } = await identifyAndGather(transport, host, inventory, build);
  run.recap.skipped += built.skipped;
  let read = gathered.read;

  stopIfInterrupted(options);
  const phase1 = await installPhase(run, built, read);
  if (!phase1) return;
  let tasks = built.tasks;
  if (phase1.applied) {
    // What was installed can change the host's facts (nebula's version) and so the tasks: identify and build again.
    ({ facts, built, gathered } = await identifyAndGather(transport, host, inventory, build));
    tasks = built.tasks.filter((t) => !t.installs);
    read = gathered.read;
  }

  // Plan (pure), then show what is already as asked and what pending handlers are picked up.
  const planned = planTasks(tasks, read);
  reportOk(run, planned.ok);
  if (planned.error !== undefined) throw planned.error;
  const notified = notifiedBy(planned.changes);
  reportPickedUp(run, pickedUpPending(built, notified, facts.pendingHandlers, new Set(phase1.recorded)));
  const handlers = handlerSteps(built, notified, facts.pendingHandlers);
  const diffs = await fetchDiffs(run, planned.changes);
  if (options.check) return reportWouldChange(run, planned.changes, handlers, diffs);

  // Apply.
  if (planned.changes.length === 0 && handlers.length === 0) return;
  stopIfInterrupted(options);
  await applySteps(run, planned.changes, handlers, [], diffs);
}

/** Ctrl-C: nothing more is sent to the host (what was sent finishes or is abandoned safely: files are renamed into place). */
function stopIfInterrupted(options: RunOptions): void {
  if (options.signal?.aborted) throw new Interrupted();
}

function reportFailure(recap: HostRecap, reporter: Reporter, err: unknown): void {
  if (err instanceof Interrupted) {
    recap.interrupted = true;
    recap.error = "interrupted before its changes were made; run the same command again to finish";
    reporter.task({ host: recap.host, task: "interrupted", status: "skipped", error: recap.error });
    return;
  }
  if (err instanceof TransportError && err.unreachable) {
    recap.unreachable = true;
    recap.error = err.message;
    reporter.task({ host: recap.host, task: "connect", status: "failed", error: err.message });
    return;
  }
  const [task, message] =
    err instanceof UserError || err instanceof TransportError
      ? ["plan", err.message]
      : ["internal error", (err as Error).stack ?? String(err)];
  recap.failed++;
  recap.error = message;
  reporter.task({ host: recap.host, task, status: "failed", error: message });
}
