// Phase 1, outside --check: tasks that install software and have work to do are applied before the others are gathered.
import type { FactReader } from "../facts/fact.ts";
import { applySteps } from "./apply.ts";
import { checkDefined, notifiedBy, planTasks } from "./plan.ts";
import { reportOk } from "./show.ts";
import type { Built, HostRun } from "./steps.ts";

/**
 * The other tasks' facts may need what these install (ip-full's `ip -j`, tc, nebula's version). Handlers they notify
 * are recorded on the host as pending and run after phase 2. Returns the handler names recorded, or null if it failed.
 */
export async function installPhase(
  run: HostRun,
  built: Built,
  read: FactReader,
): Promise<{ applied: boolean; recorded: string[] } | null> {
  const installs = built.tasks.filter((t) => t.installs);
  if (run.options.check || installs.length === 0) return { applied: false, recorded: [] };
  // Plan without reporting: if nothing is to install, phase 2 plans (and reports) every task from the same facts.
  const planned = planTasks(installs, read);
  if (planned.error !== undefined) throw planned.error;
  if (planned.changes.length === 0) return { applied: false, recorded: [] };
  reportOk(run, planned.ok);
  const notified = notifiedBy(planned.changes);
  const recorded = [...notified].filter((n) => built.handlers.has(n));
  checkDefined(built, notified);
  return (await applySteps(run, planned.changes, [], recorded, new Map())) ? { applied: true, recorded } : null;
}
