// Show: what a host's run reports about its plan: tasks already as asked, changes (made or, under --check, that would be), --diff.
import { contentFact } from "../facts/files.ts";
import type { Plan, Resource } from "../resources/resource.ts";
import { renderDiff } from "./diff.ts";
import { gather } from "./gather.ts";
import type { ChangeStep, HandlerStep, HostRun } from "./steps.ts";

export function reportOk(run: HostRun, resources: readonly Resource[]): void {
  for (const resource of resources) {
    run.recap.ok++;
    run.reporter.task({ host: run.host.name, task: resource.name, status: "ok" });
  }
}

export function reportChange(
  run: HostRun,
  resource: Resource,
  plan: Plan,
  status: "changed" | "failed",
  diff?: string,
): void {
  run.reporter.task({
    host: run.host.name,
    task: resource.name,
    status,
    summary: plan.summary,
    diff,
    commands: run.options.verbose ? plan.commands.map((c) => c.describe()) : undefined,
  });
}

export function reportPickedUp(run: HostRun, names: readonly string[]): void {
  for (const name of names)
    run.reporter.notice(run.host.name, `handler "${name}" is pending from an earlier run that failed: it runs now`);
}

/** --check: every change and handler as one that would be made, counted as changed. */
export function reportWouldChange(
  run: HostRun,
  changes: readonly ChangeStep[],
  handlers: readonly HandlerStep[],
  diffs: Map<Resource, string>,
): void {
  for (const { resource, plan } of changes) reportChange(run, resource, plan, "changed", diffs.get(resource));
  for (const { name } of handlers)
    run.reporter.task({ host: run.host.name, task: `handler: ${name}`, status: "changed", summary: "would run" });
  run.recap.changed += changes.length;
}

/**
 * --diff, and -v (a file write is shown as its path, size and hash plus its diff): the current content of changed
 * files (one more round trip; secret files are never read), rendered as diffs.
 */
export async function fetchDiffs(run: HostRun, changes: readonly ChangeStep[]): Promise<Map<Resource, string>> {
  const diffs = new Map<Resource, string>();
  if (!run.options.diff && !run.options.verbose) return diffs;
  const wanted = changes.filter((c) => c.plan.diff && c.plan.diff.exists && !c.plan.diff.secret);
  const readBefore = wanted.length
    ? await gather(
        run.transport,
        wanted.map((c) => contentFact(c.plan.diff!.path)),
      )
    : undefined;
  for (const { resource, plan } of changes) {
    if (plan.diff)
      diffs.set(
        resource,
        renderDiff(plan.diff, plan.diff.exists && !plan.diff.secret ? readBefore!(contentFact(plan.diff.path)) : null),
      );
  }
  return diffs;
}
