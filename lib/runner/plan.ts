// Plan: gathered facts and tasks in, changes and handlers out. Pure: no host contact, no output (show.ts reports).
import { UserError } from "../errors.ts";
import { declaredReader, type FactReader } from "../facts/fact.ts";
import type { Plan, Resource } from "../resources/resource.ts";
import type { Built, ChangeStep, HandlerStep, Planned } from "./steps.ts";

const hasCommands = (plan: Plan | null): plan is Plan => !!plan && plan.commands.length > 0;

/** Plans tasks in order, each reading only the facts it declares; stops at the first plan that throws. */
export function planTasks(tasks: readonly Resource[], read: FactReader): Planned {
  const planned: Planned = { ok: [], changes: [] };
  for (const resource of tasks) {
    let plan: Plan | null;
    try {
      plan = resource.plan(declaredReader(resource, read));
    } catch (error) {
      planned.error = error;
      break;
    }
    if (hasCommands(plan)) planned.changes.push({ resource, plan });
    else planned.ok.push(resource);
  }
  return planned;
}

/** The handler names the changes notify (deduplicated). */
export const notifiedBy = (changes: readonly ChangeStep[]) =>
  new Set<string>(changes.flatMap((c) => c.resource.notify ?? []));

/** Handlers pending on the host from an earlier run that failed, which this run picks up unasked (the runner says so). */
export function pickedUpPending(
  built: Built,
  notified: Set<string>,
  pending: readonly string[],
  quiet: Set<string>,
): string[] {
  return [...new Set(pending)].filter((name) => built.handlers.has(name) && !notified.has(name) && !quiet.has(name));
}

/** The handlers that run: those notified now and those pending from an earlier failed run; a notified name no role defines is refused. */
export function handlerSteps(built: Built, notified: Set<string>, pending: readonly string[]): HandlerStep[] {
  const names = new Set(notified);
  for (const name of pending) if (built.handlers.has(name)) names.add(name);
  checkDefined(built, names);
  return [...names].map((name) => ({ name, handler: built.handlers.get(name)! }));
}

export function checkDefined(built: Built, names: Iterable<string>): void {
  for (const name of names) {
    if (!built.handlers.has(name))
      throw new UserError(`a task notifies handler "${name}", which no role of this play defines`);
  }
}
