// A play's first gather (lib/runner/first-gather.ts): one round trip when the guess holds, two when it does not, and
// the tasks always built from the host's real facts. Run against a real shell (dash) on this Debian machine.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { raw } from "../../lib/command.ts";
import { defineFact } from "../../lib/facts/fact.ts";
import type { HostFacts } from "../../lib/facts/host.ts";
import type { Host } from "../../lib/inventory/types.ts";
import type { Resource } from "../../lib/resources/resource.ts";
import { identifyAndGather } from "../../lib/runner/first-gather.ts";
import type { Built } from "../../lib/runner/steps.ts";
import { shellTransport } from "../helpers/shell-transport.ts";

const probe = (name: string) => defineFact(name, raw(`echo ${name}`), ({ stdout }) => stdout.trim());
const uses = (name: string): Resource => ({ name, facts: [probe(name)], plan: () => null });
const built = (...tasks: Resource[]): Built => ({ tasks, handlers: new Map(), skipped: 0 });

/** Tasks as a role builds them from the facts: here, one probe named after what the host was taken for. */
const byRelease = (facts: HostFacts) => built(uses(facts.release ? "released" : "unreleased"));

interface Row {
  name: string;
  os?: "debian" | "openwrt";
  build: (facts: HostFacts) => Built;
  /** Calls in one run (the second guesses from the first's real facts). */
  calls: number;
  roundTrips: number[];
}

const rows: Row[] = [
  {
    name: "the inventory's os right and the tasks the same either way: one round trip",
    os: "debian",
    build: () => built(uses("a"), uses("b")),
    calls: 1,
    roundTrips: [1],
  },
  {
    // The guess has no release ("" until identified); this machine's /etc/debian_version gives one.
    name: "tasks that depend on what the guess did not know: a second round trip for the facts it missed",
    os: "debian",
    build: byRelease,
    calls: 1,
    roundTrips: [2],
  },
  {
    name: "a later play on the same host guesses from the facts the first one found: one round trip",
    os: "debian",
    build: byRelease,
    calls: 2,
    roundTrips: [2, 1],
  },
  {
    name: "no os in the inventory: no guess, identify then gather",
    build: () => built(uses("a")),
    calls: 1,
    roundTrips: [2],
  },
  {
    name: "a build that refuses the guess (a role rejecting an empty release) is only no speculation",
    os: "debian",
    build: (facts) => {
      if (!facts.release) throw new Error("no release");
      return built(uses("a"));
    },
    calls: 1,
    roundTrips: [2],
  },
];

describe("identify and gather in one round trip", () => {
  for (const row of rows) {
    it(row.name, async () => {
      const transport = shellTransport("dash", { stateDir: mkdtempSync(join(tmpdir(), "first-gather-")) });
      const host = { name: "h1", os: row.os } as Host;
      const inventory = {};
      for (let call = 0; call < row.calls; call++) {
        const before = transport.roundTrips;
        const first = await identifyAndGather(transport, host, inventory, row.build);
        expect(transport.roundTrips - before, `call ${call + 1}`).toBe(row.roundTrips[call]);
        expect(first.facts.os).toBe("debian");
        // Whatever the guess was, the tasks are the real facts' and every fact they declare is readable.
        expect(first.built.tasks.map((t) => t.name)).toEqual(row.build(first.facts).tasks.map((t) => t.name));
        for (const task of first.built.tasks) for (const f of task.facts) expect(first.gathered.read(f)).toBe(f.key);
      }
    });
  }

  it("the inventory saying openwrt of a Debian host is refused, as identify refuses it", async () => {
    const transport = shellTransport("dash", { stateDir: mkdtempSync(join(tmpdir(), "first-gather-")) });
    const host = { name: "h1", os: "openwrt", source: "hosts.yml:3" } as Host;
    await expect(identifyAndGather(transport, host, {}, () => built(uses("a")))).rejects.toThrow(
      /says os: openwrt, but the host runs debian/,
    );
  });
});
