// One run of the runner on the bench role, in its own process so that its peak memory (maxRSS) is the runner's alone.
// Prints one JSON line: seconds (session run + close), maxRssMb, the recap totals and where the connections' time went.
// Usage: npx tsx scripts/bench/run-ours.ts INVENTORY FORKS
import { loadInventory } from "../../lib/inventory/load.ts";
import { Session } from "../../lib/runner/session.ts";
import type { AttemptTiming } from "../../lib/transport/ssh.ts";
import { benchRole } from "./role.ts";

const [inventoryPath, forks] = process.argv.slice(2);
const attempts: AttemptTiming[] = [];
const session = new Session(loadInventory(inventoryPath), {
  forks: Number(forks),
  output: "silent",
  onAttempt: (t) => attempts.push(t),
});
const start = process.hrtime.bigint();
const cpuBefore = process.cpuUsage();
const recaps = await session.run({ name: "bench", hosts: ["all"], roles: [benchRole] });
await session.close();
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const cpu = process.cpuUsage(cpuBefore);

const ready = attempts.filter((a) => a.outcome === "ready");
const p = (xs: number[], q: number) =>
  xs.length ? Math.round([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]) : null;
const phase = (f: (a: AttemptTiming) => number | undefined) => {
  const xs = ready.map(f).filter((x): x is number => x !== undefined);
  return { p50: p(xs, 0.5), p95: p(xs, 0.95), max: p(xs, 1) };
};
console.log(
  JSON.stringify({
    seconds,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    // The runner's own CPU over the run (all threads): near `seconds`, its one thread is what the others wait for.
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    hosts: recaps.length,
    changed: recaps.reduce((s, r) => s + r.changed, 0),
    failed: recaps.filter((r) => r.failed).length,
    unreachable: recaps.filter((r) => r.unreachable).length,
    firstError: recaps.find((r) => r.error)?.error,
    roundTrips: Math.max(0, ...recaps.map((r) => r.roundTrips)),
    retries: attempts.length - ready.length,
    queuedMs: phase((a) => a.queuedMs),
    tcpMs: phase((a) => a.tcpMs),
    kexMs: phase((a) => a.kexMs),
    loginMs: phase((a) => a.authMs),
  }),
);
