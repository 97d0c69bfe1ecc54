// One host through one play: identify, build tasks, gather facts (one round trip), plan, show, apply (one round trip), handlers.
import { CommandError, TransportError, UserError } from "../errors.ts";
import type { Fact, FactReader, ProbeOutput } from "../facts/fact.ts";
import { contentFact } from "../facts/files.ts";
import { hostFacts, type HostFacts } from "../facts/host.ts";
import type { Host, Inventory } from "../inventory/types.ts";
import { mergeVars } from "../inventory/vars.ts";
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
  const fail = (task: string, error: string) => {
    recap.failed++;
    recap.error = error;
    reporter.task({ host: host.name, task, status: "failed", error });
  };
  try {
    transport = await connect();
    roundTripsBefore = transport.roundTrips;
    const facts = await identify(transport, host);
    const ctxFor = (defaults: Record<string, unknown>): HostContext => ({
      host,
      facts,
      os: facts.os,
      vars: mergeVars(defaults, host.vars, options.extraVars ?? {}),
      inventory,
    });

    // Build every role's tasks and handlers with its own defaults under the host's vars.
    const tasks: { resource: Resource; role: string }[] = [];
    const handlers = new Map<string, Handler>();
    for (const role of play.roles) {
      const ctx = ctxFor(role.defaults);
      for (const resource of role.tasks(ctx)) {
        if (selected(resource, role.name, options)) tasks.push({ resource, role: role.name });
        else recap.skipped++;
      }
      for (const handler of role.handlers?.(ctx) ?? []) handlers.set(handler.name, handler);
    }

    const read = await gather(transport, tasks.flatMap((t) => t.resource.facts));
    const planned: { resource: Resource; plan: Plan }[] = [];
    for (const { resource } of tasks) {
      const plan = resource.plan(read);
      if (plan && plan.commands.length) planned.push({ resource, plan });
      else {
        recap.ok++;
        reporter.task({ host: host.name, task: resource.name, status: "ok" });
      }
    }

    const notified = new Set<string>(planned.flatMap((p) => p.resource.notify ?? []));
    for (const name of facts.pendingHandlers) {
      if (!handlers.has(name)) continue;
      if (!notified.has(name)) reporter.notice(host.name, `handler "${name}" is pending from an earlier run that failed: it runs now`);
      notified.add(name);
    }
    for (const name of notified) {
      if (!handlers.has(name)) throw new UserError(`a task notifies handler "${name}", which no role of this play defines`);
    }

    // --diff: fetch the current content of changed files in one more round trip.
    const diffs = new Map<Resource, string>();
    if (options.diff) {
      const wanted = planned.filter((p) => p.plan.diff && p.plan.diff.exists && !p.plan.diff.secret);
      const readBefore = wanted.length ? await gather(transport, wanted.map((p) => contentFact(p.plan.diff!.path))) : undefined;
      for (const { resource, plan } of planned) {
        if (plan.diff) diffs.set(resource, renderDiff(plan.diff, plan.diff.exists && !plan.diff.secret ? readBefore!(contentFact(plan.diff.path)) : null));
      }
    }

    const report = (resource: Resource, plan: Plan, status: "changed" | "failed", error?: string) =>
      reporter.task({
        host: host.name,
        task: resource.name,
        status,
        summary: plan.summary,
        diff: diffs.get(resource),
        commands: options.verbose ? plan.commands.map((c) => c.display()) : undefined,
        error,
      });

    if (options.check) {
      for (const { resource, plan } of planned) report(resource, plan, "changed");
      for (const name of notified) reporter.task({ host: host.name, task: `handler: ${name}`, status: "changed", summary: "would run" });
      recap.changed += planned.length;
      return recap;
    }
    if (planned.length === 0 && notified.size === 0) return recap;

    const steps: ApplyStep[] = planned.map((p) => ({ label: p.resource.name, commands: p.plan.commands }));
    const handlerSteps = [...notified].map((name) => ({ name, step: { label: `handler: ${name}`, commands: [handlers.get(name)!.command] } }));
    const { script, parse } = applyScript(steps, handlerSteps);
    const result = await transport.run(SCRIPT_SHELL, { stdin: script.render() });
    const outcome = parse(result.stdout);
    const all = [...planned.map((p) => ({ resource: p.resource, plan: p.plan, label: p.resource.name })), ...handlerSteps.map((h) => ({ resource: undefined, plan: { commands: h.step.commands, summary: "run" } as Plan, label: h.step.label }))];
    all.forEach((entry, i) => {
      if (i < outcome.done) {
        recap.changed++;
        entry.plan.onApplied?.();
        if (entry.resource) report(entry.resource, entry.plan, "changed");
        else reporter.task({ host: host.name, task: entry.label, status: "changed", summary: "ran" });
      }
    });
    if (outcome.failed) {
      const entry = all[outcome.failed.step];
      const error = new CommandError(host.name, entry.label, entry.plan.commands.map((c) => c.display()).join(" && "), outcome.failed.code, outcome.failed.output);
      fail(entry.label, error.message);
    } else if (outcome.done !== all.length) {
      throw new TransportError(transport.target, `the run was cut short after ${outcome.done} of ${all.length} steps (exit ${result.code}): ${result.stderr.trim()}`);
    }
    return recap;
  } catch (err) {
    if (err instanceof TransportError && err.unreachable) {
      recap.unreachable = true;
      recap.error = err.message;
      reporter.task({ host: host.name, task: "connect", status: "failed", error: err.message });
    } else if (err instanceof UserError || err instanceof TransportError) {
      fail("plan", err.message);
    } else {
      fail("internal error", (err as Error).stack ?? String(err));
    }
    return recap;
  } finally {
    recap.roundTrips = transport ? transport.roundTrips - roundTripsBefore : 0;
    reporter.hostDone(recap);
  }
}
