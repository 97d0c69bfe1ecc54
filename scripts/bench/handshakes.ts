// Where the handshakes' time goes at N hosts: per phase (queued, TCP, key exchange, login), with the handshake gate at
// several sizes, the event loop's delay and this process's CPU, against N parallel `ssh true`. One lab, debian hosts.
// Usage: npx tsx scripts/bench/handshakes.ts [--hosts 200] [--gates old,0,8,16,32,64] [--session-gates 0,32] [--attempts 1]
// (gates: connect only; session gates: a no-op converge of the bench role with --forks N; 0: no gate; old: ssh2 as before
// this gate existed. One attempt by default, so that a handshake that would have timed out shows as failed.)
import { readFileSync } from "node:fs";
import { Client } from "ssh2";
import type { Host } from "../../lib/inventory/types.ts";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { loadInventory } from "../../lib/inventory/load.ts";
import { Session } from "../../lib/runner/session.ts";
import type { AttemptTiming } from "../../lib/transport/ssh.ts";
import { labUp } from "../lab/index.ts";
import { benchRole } from "./role.ts";
import { sshFloor } from "./floor.ts";

const { values } = parseArgs({
  options: {
    hosts: { type: "string", default: "200" },
    gates: { type: "string", default: "old,0,8,16,32,64" },
    "session-gates": { type: "string", default: "0,32" },
    attempts: { type: "string", default: "1" },
  },
});
const n = Number(values.hosts);
const list = (v: unknown) => (String(v) ? String(v).split(",") : []);
const runs = [
  ...list(values.gates).map((g) => ({ gate: g, session: false })),
  ...list(values["session-gates"]).map((g) => ({ gate: g, session: true })),
];

/** The connection as it was before the gate (ssh2's readyTimeout of 10 s over TCP connect and handshake, no bound). */
function oldConnect(host: Host, key: Buffer): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once("ready", () => resolve(client));
    client.on("error", reject);
    client.connect({
      host: host.address,
      port: host.port,
      username: host.user,
      privateKey: key,
      readyTimeout: 10_000,
      hostVerifier: () => true,
    });
  });
}

const pct = (xs: number[], p: number) =>
  xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] : NaN;
const ms = (xs: number[]) =>
  `p50 ${pct(xs, 50).toFixed(0)} p95 ${pct(xs, 95).toFixed(0)} max ${pct(xs, 100).toFixed(0)}`;

const lab = await labUp({
  hosts: Array.from({ length: n }, (_, i) => ({ name: `hs-${i + 1}`, kind: "debian" as const, group: "bench" })),
});
try {
  const inventory = loadInventory(lab.inventoryPath);
  // First contact (pins every host key) outside the measurements, through the default gate.
  const pin = new Session(inventory, { output: "silent" });
  const pinned = await Promise.allSettled(inventory.hosts.map((h) => pin.connect(h)));
  await pin.close();
  const unpinned = pinned.filter((r) => r.status === "rejected");
  if (unpinned.length)
    throw new Error(
      `first contact failed on ${unpinned.length} hosts: ${(unpinned[0] as PromiseRejectedResult).reason}`,
    );
  console.log(`N=${n}: ssh true floor ${(await sshFloor(lab)).toFixed(2)} s`);

  for (const { gate: g, session: converge } of runs) {
    const gate = g === "old" ? 0 : Number(g);
    const attempts: AttemptTiming[] = [];
    const loop = monitorEventLoopDelay({ resolution: 10 });
    const session = new Session(inventory, {
      output: "silent",
      forks: n,
      maxHandshakes: gate || Number.MAX_SAFE_INTEGER,
      connectPolicy: { attempts: Number(values.attempts), handshakeTimeoutMs: 10_000, growth: 2 },
      onAttempt: (t) => attempts.push(t),
    });
    const cpu = process.cpuUsage();
    loop.enable();
    const start = performance.now();
    let failed = 0;
    let firstError = "";
    if (g === "old") {
      const key = readFileSync(inventory.sshKey!);
      const results = await Promise.allSettled(inventory.hosts.map((h) => oldConnect(h, key)));
      failed = results.filter((r) => r.status === "rejected").length;
      firstError = String(
        (results.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined)?.reason ?? "",
      );
      for (const r of results) if (r.status === "fulfilled") r.value.end();
    } else if (converge) {
      const recaps = await session.run({ name: "bench", hosts: ["all"], roles: [benchRole] });
      failed = recaps.filter((r) => r.failed || r.unreachable).length;
      firstError = recaps.find((r) => r.error)?.error ?? "";
    } else {
      const results = await Promise.allSettled(inventory.hosts.map((h) => session.connect(h)));
      failed = results.filter((r) => r.status === "rejected").length;
      firstError = String(
        (results.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined)?.reason ?? "",
      );
    }
    const wall = (performance.now() - start) / 1000;
    loop.disable();
    const used = process.cpuUsage(cpu);
    await session.close();
    const ok = attempts.filter((a) => a.outcome === "ready");
    const outcomes = Object.entries(
      attempts.reduce<Record<string, number>>((m, a) => ({ ...m, [a.outcome]: (m[a.outcome] ?? 0) + 1 }), {}),
    );
    console.log(
      `gate ${g === "old" ? "old (ssh2 readyTimeout 10 s, no gate)" : gate || "none"}${converge ? ` (converge, --forks ${n})` : " (connect only)"}: ${wall.toFixed(2)} s, ${failed} failed${firstError ? ` (${firstError.slice(0, 160)})` : ""}; attempts ${outcomes.map(([k, v]) => `${k} ${v}`).join(", ")}; ` +
        `CPU ${((used.user + used.system) / 1e6).toFixed(2)} s; loop delay p50 ${(loop.percentile(50) / 1e6).toFixed(0)} max ${(loop.max / 1e6).toFixed(0)} ms; load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}\n` +
        `  queued ${ms(ok.map((a) => a.queuedMs))} | tcp ${ms(ok.map((a) => a.tcpMs))} | kex ${ms(ok.map((a) => a.kexMs ?? NaN))} | login ${ms(ok.map((a) => a.authMs ?? NaN))} ms` +
        ` | ${[...new Set(ok.map((a) => `${a.kex} ${a.cipher}`))].join("; ")}`,
    );
  }
} finally {
  await lab.down();
}
