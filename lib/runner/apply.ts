// Apply: changes, then handlers, in one round trip (the script protocol in script.ts), each reported as it is known to have run.
import { CommandError, TransportError } from "../errors.ts";
import type { Command } from "../command.ts";
import type { Plan, Resource } from "../resources/resource.ts";
import { applyScript, SCRIPT_SHELL, type ApplyStep } from "./script.ts";
import { reportChange } from "./show.ts";
import type { ChangeStep, HandlerStep, HostRun } from "./steps.ts";

/** One line of the apply script as the report sees it: a task's change or a handler. */
interface Entry {
  label: string;
  commands: Command[];
  change?: { resource: Resource; plan: Plan };
}

/**
 * Applies changes, then handlers. `record` handlers are only written to the host's pending file (the install phase's
 * notifications: they run after phase 2, or on the next run if this one fails). False when a step failed; throws
 * TransportError when the script stopped without saying why (a cut connection).
 */
export async function applySteps(
  run: HostRun,
  changes: readonly ChangeStep[],
  handlers: readonly HandlerStep[],
  record: readonly string[],
  diffs: Map<Resource, string>,
): Promise<boolean> {
  const steps: ApplyStep[] = changes.map((c) => ({ label: c.resource.name, commands: c.plan.commands }));
  const handlerSteps = handlers.map(({ name, handler }) => ({
    name,
    step: { label: `handler: ${name}`, commands: [handler.command] },
  }));
  const { script, parse } = applyScript(steps, handlerSteps, record);
  // Before the host gets anything (a run killed mid-script must not leave the host ahead of this side's records).
  for (const c of changes) await c.plan.beforeApply?.();
  const result = await run.transport.run(SCRIPT_SHELL, { stdin: script.render() });
  const outcome = parse(result.stdout);
  const entries: Entry[] = [
    ...changes.map((c) => ({ label: c.resource.name, commands: c.plan.commands, change: c })),
    ...handlerSteps.map((h) => ({ label: h.step.label, commands: h.step.commands })),
  ];
  entries.slice(0, outcome.done).forEach((entry) => {
    run.recap.changed++;
    if (entry.change) {
      entry.change.plan.onApplied?.();
      reportChange(run, entry.change.resource, entry.change.plan, "changed", diffs.get(entry.change.resource));
    } else run.reporter.task({ host: run.host.name, task: entry.label, status: "changed", summary: "ran" });
  });
  if (outcome.failed) {
    const entry = entries[outcome.failed.step];
    const error = new CommandError(
      run.host.name,
      entry.label,
      entry.commands.map((c) => c.describe()).join(" && "),
      outcome.failed.code,
      outcome.failed.output,
    );
    run.recap.failed++;
    run.recap.error = error.message;
    run.reporter.task({ host: run.host.name, task: entry.label, status: "failed", error: error.message });
    return false;
  }
  if (outcome.done !== entries.length) {
    throw new TransportError(
      run.transport.target,
      `the run was cut short after ${outcome.done} of ${entries.length} steps (exit ${result.code}): ${result.stderr.trim()}`,
    );
  }
  return true;
}
