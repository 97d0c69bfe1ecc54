// One host through one play: identify, build tasks, gather, plan, report, apply; software installs first when they have work to do.
import { CommandError, TransportError, UserError } from "../errors.ts";
import type { Fact, FactReader, ProbeOutput } from "../facts/fact.ts";
import { contentFact } from "../facts/files.ts";
import { hostFacts, type HostFacts } from "../facts/host.ts";
import type { Host, Inventory } from "../inventory/types.ts";
import { effectiveVars, mergeVars } from "../inventory/vars.ts";
import type { HostContext, Play } from "../play.ts";
import type { Handler, Plan, Resource } from "../resources/resource.ts";
import type { Transport } from "../transport/types.ts";
import { renderDiff } from "./diff.ts";
import type { HostRecap, Reporter } from "./report.ts";
import { applyScript, gatherScript, SCRIPT_SHELL, type ApplyStep } from "./script.ts";

export interface RunOptions {
  check?: boolean;
  diff?: boolean;
  tags?: string[];
  skipTags?: string[];
  verbose?: boolean;
  extraVars?: Record<string, unknown>;
}

/** Runs probes in one round trip and returns a reader over their parsed values. */
export async function gather(transport: Transport, facts: readonly Fact<unknown>[]): Promise<FactReader> {
  const unique = [...new Map(facts.map((f) => [f.key, f])).values()];
  const { script, parse } = gatherScript(unique);
  const result = await transport.run(SCRIPT_SHELL, { stdin: script.render() });
  const outputs: Map<string, ProbeOutput> = parse(result.stdout);
  if (outputs.size !== unique.length) {
    throw new TransportError(transport.target, `fact gathering was cut short (exit ${result.code}): ${result.stderr.trim() || "no output"}`);
  }
  const parsed = new Map<string, unknown>();
  return <T>(fact: Fact<T>): T => {
    if (!parsed.has(fact.key)) {
      const output = outputs.get(fact.key);
      if (!output) throw new Error(`internal: fact ${fact.key} was read but never gathered (list it in the resource's facts)`);
      parsed.set(fact.key, fact.parse(output));
    }
    return parsed.get(fact.key) as T;
  };
}

export async function identify(transport: Transport, host: Host): Promise<HostFacts> {
  const read = await gather(transport, [hostFacts]);
  const facts = read(hostFacts);
  if ("unsupported" in facts) throw new UserError(`${host.name} runs "${facts.unsupported}": only Debian and OpenWrt hosts are supported`);
  if (host.os && host.os !== facts.os) {
    throw new UserError(`${host.name}: the inventory (${host.source}) says os: ${host.os}, but the host runs ${facts.os}`, "correct the inventory");
  }
  return facts;
}

const selected = (resource: Resource, roleName: string, options: RunOptions): boolean => {
  const tags = [roleName, ...(resource.tags ?? [])];
  if (options.skipTags?.some((t) => tags.includes(t))) return false;
  return !options.tags?.length || options.tags.some((t) => tags.includes(t));
};

interface Built {
  tasks: Resource[];
  handlers: Map<string, Handler>;
  skipped: number;
}

/** Every role's tasks and handlers, each role with its own defaults under the host's vars. */
function buildTasks(play: Play, host: Host, inventory: Inventory, facts: HostFacts, options: RunOptions): Built {
  const built: Built = { tasks: [], handlers: new Map(), skipped: 0 };
  // Other hosts' vars under every role of the play's defaults: the hub's routing reads its uplinks' nebula ports, say.
  const playDefaults = mergeVars(...play.roles.map((r) => r.defaults));
  const varsOf = (other: Host) => effectiveVars(other, playDefaults, options.extraVars);
  for (const role of play.roles) {
    const ctx: HostContext = { host, facts, os: facts.os, vars: effectiveVars(host, role.defaults, options.extraVars), inventory, varsOf };
    for (const resource of role.tasks(ctx)) {
      if (selected(resource, role.name, options)) built.tasks.push(resource);
      else built.skipped++;
    }
    for (const handler of role.handlers?.(ctx) ?? []) built.handlers.set(handler.name, handler);
  }
  return built;
}

interface Planned {
  resource: Resource;
  plan: Plan;
}

/** Plans resources against gathered facts; the unchanged ones are reported ok here. */
function planTasks(tasks: Resource[], read: FactReader, recap: HostRecap, reporter: Reporter): Planned[] {
  const planned: Planned[] = [];
  for (const resource of tasks) {
    const plan = resource.plan(read);
    if (plan && plan.commands.length) planned.push({ resource, plan });
    else {
      recap.ok++;
      reporter.task({ host: recap.host, task: resource.name, status: "ok" });
    }
  }
  return planned;
}

const notifiedBy = (planned: Planned[]) => new Set<string>(planned.flatMap((p) => p.resource.notify ?? []));

/** What one host's run needs while it goes through its phases. */
interface HostRun {
  host: Host;
  transport: Transport;
  options: RunOptions;
  reporter: Reporter;
  recap: HostRecap;
}

/** --diff: the current content of changed files, in one more round trip. */
async function fetchDiffs(run: HostRun, planned: Planned[]): Promise<Map<Resource, string>> {
  const diffs = new Map<Resource, string>();
  if (!run.options.diff) return diffs;
  const wanted = planned.filter((p) => p.plan.diff && p.plan.diff.exists && !p.plan.diff.secret);
  const readBefore = wanted.length ? await gather(run.transport, wanted.map((p) => contentFact(p.plan.diff!.path))) : undefined;
  for (const { resource, plan } of planned) {
    if (plan.diff) diffs.set(resource, renderDiff(plan.diff, plan.diff.exists && !plan.diff.secret ? readBefore!(contentFact(plan.diff.path)) : null));
  }
  return diffs;
}

function reportPlan(run: HostRun, resource: Resource, plan: Plan, status: "changed" | "failed", diff?: string) {
  run.reporter.task({
    host: run.host.name,
    task: resource.name,
    status,
    summary: plan.summary,
    diff,
    commands: run.options.verbose ? plan.commands.map((c) => c.display()) : undefined,
  });
}

/**
 * Applies plans, then the named handlers, in one round trip. `record` handlers are only written to the host's pending
 * file (phase 1's notifications: they run after phase 2, or on the next run if this one fails). False when a step failed.
 */
async function applyPlans(
  run: HostRun,
  planned: Planned[],
  handlers: { name: string; handler: Handler }[],
  record: string[],
  diffs: Map<Resource, string>,
): Promise<boolean> {
  const steps: ApplyStep[] = planned.map((p) => ({ label: p.resource.name, commands: p.plan.commands }));
  const handlerSteps = handlers.map(({ name, handler }) => ({ name, step: { label: `handler: ${name}`, commands: [handler.command] } }));
  const { script, parse } = applyScript(steps, handlerSteps, record);
  const result = await run.transport.run(SCRIPT_SHELL, { stdin: script.render() });
  const outcome = parse(result.stdout);
  const all = [...planned.map((p) => ({ resource: p.resource as Resource | undefined, plan: p.plan, label: p.resource.name })), ...handlerSteps.map((h) => ({ resource: undefined, plan: { commands: h.step.commands, summary: "run" } as Plan, label: h.step.label }))];
  all.forEach((entry, i) => {
    if (i >= outcome.done) return;
    run.recap.changed++;
    entry.plan.onApplied?.();
    if (entry.resource) reportPlan(run, entry.resource, entry.plan, "changed", diffs.get(entry.resource));
    else run.reporter.task({ host: run.host.name, task: entry.label, status: "changed", summary: "ran" });
  });
  if (outcome.failed) {
    const entry = all[outcome.failed.step];
    const error = new CommandError(run.host.name, entry.label, entry.plan.commands.map((c) => c.display()).join(" && "), outcome.failed.code, outcome.failed.output);
    run.recap.failed++;
    run.recap.error = error.message;
    run.reporter.task({ host: run.host.name, task: entry.label, status: "failed", error: error.message });
    return false;
  }
  if (outcome.done !== all.length) {
    throw new TransportError(run.transport.target, `the run was cut short after ${outcome.done} of ${all.length} steps (exit ${result.code}): ${result.stderr.trim()}`);
  }
  return true;
}

/** The handlers that run: those notified now, and those pending on the host from an earlier run that failed. */
function handlersToRun(run: HostRun, built: Built, notified: Set<string>, pending: string[], quiet: Set<string>): { name: string; handler: Handler }[] {
  const names = new Set(notified);
  for (const name of pending) {
    if (!built.handlers.has(name)) continue;
    if (!names.has(name) && !quiet.has(name)) run.reporter.notice(run.host.name, `handler "${name}" is pending from an earlier run that failed: it runs now`);
    names.add(name);
  }
  for (const name of names) {
    if (!built.handlers.has(name)) throw new UserError(`a task notifies handler "${name}", which no role of this play defines`);
  }
  return [...names].map((name) => ({ name, handler: built.handlers.get(name)! }));
}

/**
 * Phase 1, outside --check: resources that install software and have work to do are applied first, because the
 * other resources' facts may need what they install (ip-full's `ip -j`, tc, nebula's version). Handlers they notify
 * are recorded on the host as pending and run after phase 2. Returns the phase-1 handler names, or null if it failed.
 */
async function installPhase(run: HostRun, built: Built, read: FactReader): Promise<{ applied: boolean; recorded: string[] } | null> {
  const installs = built.tasks.filter((t) => t.installs);
  if (run.options.check || installs.length === 0) return { applied: false, recorded: [] };
  // Plan without reporting: if nothing is to install, phase 2 plans (and reports) every task from the same facts.
  const planned = installs.flatMap((resource) => {
    const plan = resource.plan(read);
    return plan && plan.commands.length ? [{ resource, plan }] : [];
  });
  if (planned.length === 0) return { applied: false, recorded: [] };
  for (const resource of installs) if (!planned.some((p) => p.resource === resource)) planTasks([resource], read, run.recap, run.reporter);
  const recorded = [...notifiedBy(planned)].filter((n) => built.handlers.has(n));
  for (const name of notifiedBy(planned)) {
    if (!built.handlers.has(name)) throw new UserError(`a task notifies handler "${name}", which no role of this play defines`);
  }
  return (await applyPlans(run, planned, [], recorded, new Map())) ? { applied: true, recorded } : null;
}

export async function runHost(
  play: Play,
  host: Host,
  inventory: Inventory,
  connect: () => Promise<Transport>,
  options: RunOptions,
  reporter: Reporter,
): Promise<HostRecap> {
  const recap: HostRecap = { host: host.name, ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: false, roundTrips: 0 };
  let transport: Transport | undefined;
  let roundTripsBefore = 0;
  try {
    transport = await connect();
    roundTripsBefore = transport.roundTrips;
    const run: HostRun = { host, transport, options, reporter, recap };

    // Gather: who the host is, then every fact the tasks need, in one round trip each.
    let facts = await identify(transport, host);
    let built = buildTasks(play, host, inventory, facts, options);
    recap.skipped += built.skipped;
    let read = await gather(transport, built.tasks.flatMap((t) => t.facts));

    const phase1 = await installPhase(run, built, read);
    if (!phase1) return recap;
    let tasks = built.tasks;
    if (phase1.applied) {
      // What was installed can change the host's facts (nebula's version) and so the tasks: identify and build again.
      facts = await identify(transport, host);
      built = buildTasks(play, host, inventory, facts, options);
      tasks = built.tasks.filter((t) => !t.installs);
      read = await gather(transport, tasks.flatMap((t) => t.facts));
    }

    // Plan and report.
    const planned = planTasks(tasks, read, recap, reporter);
    const handlers = handlersToRun(run, built, notifiedBy(planned), facts.pendingHandlers, new Set(phase1.recorded));
    const diffs = await fetchDiffs(run, planned);
    if (options.check) {
      for (const { resource, plan } of planned) reportPlan(run, resource, plan, "changed", diffs.get(resource));
      for (const { name } of handlers) reporter.task({ host: host.name, task: `handler: ${name}`, status: "changed", summary: "would run" });
      recap.changed += planned.length;
      return recap;
    }

    // Apply.
    if (planned.length === 0 && handlers.length === 0) return recap;
    await applyPlans(run, planned, handlers, [], diffs);
    return recap;
  } catch (err) {
    if (err instanceof TransportError && err.unreachable) {
      recap.unreachable = true;
      recap.error = err.message;
      reporter.task({ host: host.name, task: "connect", status: "failed", error: err.message });
    } else {
      const [task, message] = err instanceof UserError || err instanceof TransportError ? ["plan", err.message] : ["internal error", (err as Error).stack ?? String(err)];
      recap.failed++;
      recap.error = message;
      reporter.task({ host: host.name, task, status: "failed", error: message });
    }
    return recap;
  } finally {
    recap.roundTrips = transport ? transport.roundTrips - roundTripsBefore : 0;
    reporter.hostDone(recap);
  }
}
