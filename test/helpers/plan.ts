// Plans in tests as the runner makes them (its build and plan phases, no host): raw probe output in, steps out.
// Every resource reads through the runner's declared-facts reader, so a test fails when one reads a fact it did not declare.
import { expect } from "vitest";
import type { Fact, FactReader } from "../../lib/facts/fact.ts";
import type { HostFacts } from "../../lib/facts/host.ts";
import type { Inventory } from "../../lib/inventory/types.ts";
import type { Play } from "../../lib/play.ts";
import type { Plan, Resource } from "../../lib/resources/resource.ts";
import { buildTasks } from "../../lib/runner/build.ts";
import { planTasks } from "../../lib/runner/plan.ts";
import type { Built, ChangeStep, RunOptions } from "../../lib/runner/steps.ts";

/** A probe's output: its stdout, or [stdout, exit code]. */
export type ProbeResult = string | [string, number];
/** Probe outputs by fact key, or a function of the key (undefined: the test gave none). */
export type Probes = Record<string, ProbeResult> | ((key: string) => ProbeResult | undefined);

/** Reads facts from the given probe outputs, as gathering would have parsed them; a fact with no output given throws. */
function probeReader(probes: Probes): FactReader {
  const lookup = typeof probes === "function" ? probes : (key: string) => probes[key];
  return <T>(fact: Fact<T>): T => {
    const p = lookup(fact.key);
    if (p === undefined) throw new Error(`the test gave no probe output for ${fact.key}`);
    const [stdout, code] = typeof p === "string" ? [p, 0] : p;
    return fact.parse({ stdout, code });
  };
}

/** Every fact reads as a probe that printed nothing and exited 0 (a host with nothing on it, for most probes). */
export const emptyProbes: Probes = () => "";

/** The runner's plan of resources against probes: changes and unchanged tasks; a plan that throws (an undeclared fact too) throws here. */
export function planAll(resources: readonly Resource[], probes: Probes): { changes: ChangeStep[]; ok: Resource[] } {
  const planned = planTasks(resources, probeReader(probes));
  if (planned.error !== undefined) throw planned.error;
  return planned;
}

/** One resource's plan, or null when the host already is as asked. */
export function planOne(resource: Resource, probes: Probes): Plan | null {
  return planAll([resource], probes).changes[0]?.plan ?? null;
}

/** One resource's commands as -v shows them (secrets masked), or null when there is nothing to do. */
export function commandsOf(resource: Resource, probes: Probes): string[] | null {
  return planOne(resource, probes)?.commands.map((c) => c.display()) ?? null;
}

/** Also checks that the probes cover every fact the resource declares (a table row that forgot one). */
export function commandsWithProbes(resource: Resource, probes: Record<string, ProbeResult>): string[] | null {
  for (const f of resource.facts) expect(Object.keys(probes)).toContain(f.key);
  return commandsOf(resource, probes);
}

/** Facts identify would report for a host of this OS (OpenWrt 23.05 with fw4 and procd, or Debian 12 with systemd). */
export function identified(os: "openwrt" | "debian", hostname: string, init?: HostFacts["init"]): HostFacts {
  const openwrt = os === "openwrt";
  return {
    os,
    init: init ?? (openwrt ? "initd" : "systemd"),
    arch: "x86_64",
    kernel: "6.1",
    hostname,
    release: openwrt ? "23.05.5" : "12.5",
    packageManager: openwrt ? "opkg" : "apt",
    firewall: openwrt ? "fw4" : "nft",
    nebulaVersion: null,
    pendingHandlers: [],
  };
}

/** A play's tasks and handlers for one host, as the runner builds them (each role with its defaults, --tags applied). */
export function playTasks(
  play: Play,
  inventory: Inventory,
  hostName: string,
  options: RunOptions & { facts?: HostFacts } = {},
): Built {
  const host = inventory.hosts.find((h) => h.name === hostName);
  if (!host) throw new Error(`test inventory has no host ${hostName}`);
  return buildTasks(play, host, inventory, options.facts ?? identified(host.os ?? "debian", host.name), options);
}
