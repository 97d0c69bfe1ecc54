// scripts/test-shaping.ts's verdicts, table-driven: a cap judged against what the path carries with the cap lifted
// (never a FAIL or a PASS where the path cannot fill the cap), the measuring procedure driven by scripted figures
// (retries, the path checked again), the table and verdict lines, the lifted class's tc commands, iperf3's JSON.
import { spawn, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { bypassBytes, liftCommands, restoreCommands } from "../../scripts/shaping/bypass.ts";
import { iperfClientArgs, iperfGoodput, killRecorded } from "../../scripts/shaping/measure.ts";
import { formatTable, noFailure, resultLine, verdictLines } from "../../scripts/shaping/report.ts";
import { judgeDirection, type RunKind, type UplinkResult } from "../../scripts/shaping/uplink.ts";
import { judgeCap, type Outcome } from "../../scripts/shaping/verdict.ts";

const M = 1e6;

describe("a cap's verdict: capped figure against the cap and the path's own ceiling", () => {
  const cases: { why: string; cap: number; path: number; measured: number; outcome: Outcome; reason: RegExp }[] = [
    {
      why: "the path fills the cap, 4.4% below it (TCP/IP headers)",
      cap: 5,
      path: 94,
      measured: 4.78,
      outcome: "PASS",
      reason: /^4\.78 Mbit\/s: at most the cap 5\.00 Mbit\/s and at least 4\.50; the path carries 94\.00 without it$/,
    },
    {
      why: "above the cap on a fast path: more than was donated",
      cap: 5,
      path: 94,
      measured: 5.01,
      outcome: "FAIL",
      reason: /^5\.01 Mbit\/s, above the cap 5\.00 Mbit\/s$/,
    },
    {
      why: "above the cap fails whatever the path (a path figure lower than the capped one: the cap is not there)",
      cap: 40,
      path: 38,
      measured: 41.2,
      outcome: "FAIL",
      reason: /above the cap 40\.00/,
    },
    {
      why: "more than 10% below on a path that fills it: the floor, the cap and the path said",
      cap: 40,
      path: 60,
      measured: 30.1,
      outcome: "FAIL",
      reason:
        /^30\.10 Mbit\/s, below the floor 36\.00 Mbit\/s \(the cap 40\.00 Mbit\/s less 10%\) on a path that carries 60\.00 Mbit\/s$/,
    },
    {
      why: "the demo's failure on this machine: 84.2 under a 100 cap where the path carries 88: not judged, not FAIL",
      cap: 100,
      path: 88,
      measured: 84.2,
      outcome: "NOT JUDGED",
      reason: /^cap 100\.00 Mbit\/s above what this path carries: 88\.00 Mbit\/s; not judged$/,
    },
    {
      why: "a path only just above the cap: a missing cap would land in the band too, so no PASS",
      cap: 40,
      path: 42,
      measured: 39,
      outcome: "NOT JUDGED",
      reason: /this path carries 42\.00 Mbit\/s, less than 10% above the cap 40\.00 Mbit\/s: not judged/,
    },
    {
      why: "exactly 10% above the cap: judged",
      cap: 40,
      path: 44,
      measured: 38,
      outcome: "PASS",
      reason: /^38\.00 Mbit\/s: at most/,
    },
    { why: "no capped figure", cap: 5, path: 94, measured: NaN, outcome: "FAIL", reason: /^not measured$/ },
    { why: "no path figure", cap: 5, path: NaN, measured: 4.8, outcome: "FAIL", reason: /path .* not measured/ },
  ];
  it.each(cases)("$why", ({ cap, path, measured, outcome, reason }) => {
    const v = judgeCap({ capBit: cap * M, pathBit: path * M, measuredBit: measured * M });
    expect(v.outcome).toBe(outcome);
    expect(v.reason).toMatch(reason);
  });
});

describe("measuring one direction: path, capped, the path again when below the floor, measured again", () => {
  // Each case scripts the figures the measurements return, in order, and says which runs it expects.
  const cases: {
    why: string;
    cap: number;
    attempts: number;
    figures: [RunKind, number][];
    outcome: Outcome;
    earlier?: number;
  }[] = [
    {
      why: "path, then capped in the band: PASS after two runs",
      cap: 20,
      attempts: 2,
      figures: [
        ["path", 45],
        ["capped", 19.1],
      ],
      outcome: "PASS",
    },
    {
      why: "above the cap: FAIL at once, never measured again",
      cap: 20,
      attempts: 3,
      figures: [
        ["path", 45],
        ["capped", 20.5],
      ],
      outcome: "FAIL",
    },
    {
      why: "path too slow: NOT JUDGED at once (no retry hoping for luck)",
      cap: 40,
      attempts: 2,
      figures: [
        ["path", 31],
        ["capped", 30],
      ],
      outcome: "NOT JUDGED",
    },
    {
      why: "below the floor, and the path right after slower too (a busy moment): NOT JUDGED",
      cap: 40,
      attempts: 2,
      figures: [
        ["path", 50],
        ["capped", 30],
        ["path", 33],
      ],
      outcome: "NOT JUDGED",
    },
    {
      why: "below the floor on a path that still fills it: measured again, then PASS",
      cap: 40,
      attempts: 2,
      figures: [
        ["path", 50],
        ["capped", 30],
        ["path", 52],
        ["path", 51],
        ["capped", 38.5],
      ],
      outcome: "PASS",
      earlier: 1,
    },
    {
      why: "below the floor every time on a path that fills it: FAIL after the last attempt",
      cap: 40,
      attempts: 2,
      figures: [
        ["path", 50],
        ["capped", 30],
        ["path", 52],
        ["path", 51],
        ["capped", 31],
        ["path", 50],
      ],
      outcome: "FAIL",
      earlier: 1,
    },
  ];
  it.each(cases)("$why", async ({ cap, attempts, figures, outcome, earlier }) => {
    const asked: RunKind[] = [];
    const lines: string[] = [];
    const result = await judgeDirection({
      capBit: cap * M,
      attempts,
      label: "uplink-1 down",
      log: (l) => lines.push(l),
      measure: async (kind) => {
        const next = figures[asked.length];
        asked.push(kind);
        if (!next || next[0] !== kind)
          throw new Error(`run ${asked.length} was ${kind}, the case expected ${next?.[0]}`);
        return next[1] * M;
      },
    });
    expect(asked).toEqual(figures.map(([k]) => k));
    expect(result.outcome).toBe(outcome);
    expect(result.runs.map((r) => [r.kind, r.bit / M])).toEqual(figures);
    expect(result.earlier?.length ?? 0).toBe(earlier ?? 0);
    if (earlier) expect(lines[0]).toMatch(/^uplink-1 down: 30\.00 Mbit\/s, below the floor .*measuring again/);
  });
});

describe("what the test prints", () => {
  const direction = (cap: number, path: number, measured: number) => ({
    ...judgeCap({ capBit: cap * M, pathBit: path * M, measuredBit: measured * M }),
    runs: [],
  });
  const pass: UplinkResult = {
    uplink: "uplink-3",
    capUpBit: 2 * M,
    capDownBit: 5 * M,
    up: direction(2, 90, 1.91),
    down: direction(5, 85, 4.78),
  };
  const notJudged: UplinkResult = {
    uplink: "uplink-1",
    capUpBit: 20 * M,
    capDownBit: 100 * M,
    up: direction(20, 60, 19.1),
    down: direction(100, 88, 84.2),
  };
  const swapped: UplinkResult = {
    uplink: "uplink-2",
    capUpBit: 10 * M,
    capDownBit: 50 * M,
    up: direction(10, 90, 48),
    down: direction(50, 90, 9.6),
  };
  const broken: UplinkResult = {
    uplink: "uplink-4",
    capUpBit: 5 * M,
    capDownBit: 20 * M,
    error: "iperf3: unable to connect to server",
  };

  it("a row per uplink: caps, path, measured, error, result", () => {
    const table = formatTable([pass, notJudged, swapped, broken]);
    expect(table.split("\n")[0]).toMatch(
      /^uplink\s+cap up\/down Mbit\/s\s+path up\/down\s+measured up\/down\s+error up\/down\s+result$/,
    );
    expect(table).toMatch(/^uplink-3\s+2\.00 \/ 5\.00\s+90\.00 \/ 85\.00\s+1\.91 \/ 4\.78\s+-4\.5% \/ -4\.4%\s+PASS$/m);
    expect(table).toMatch(/^uplink-1\s+20\.00 \/ 100\.00\s+60\.00 \/ 88\.00\s+.*up PASS, down NOT JUDGED$/m);
    expect(table).toMatch(
      /^uplink-2\s+10\.00 \/ 50\.00\s+90\.00 \/ 90\.00\s+48\.00 \/ 9\.60\s+\+380\.0% \/ -80\.8%\s+FAIL$/m,
    );
    expect(table).toMatch(/^uplink-4\s+5\.00 \/ 20\.00\s+-\s+-\s+-\s+FAIL$/m);
  });

  it("a verdict line per direction, FAIL lines with the measured value and the limit", () => {
    const lines = verdictLines([notJudged, swapped, broken]);
    expect(lines).toContain(
      "NOT JUDGED uplink-1 down: cap 100.00 Mbit/s above what this path carries: 88.00 Mbit/s; not judged",
    );
    expect(lines).toContain("FAIL uplink-2 up: 48.00 Mbit/s, above the cap 10.00 Mbit/s");
    expect(lines).toContain(
      "FAIL uplink-2 down: 9.60 Mbit/s, below the floor 45.00 Mbit/s (the cap 50.00 Mbit/s less 10%) on a path that carries 90.00 Mbit/s",
    );
    expect(lines).toContain("FAIL uplink-4: iperf3: unable to connect to server");
  });

  it.each([
    { results: [pass], ok: true, line: /^RESULT: PASS \(2 of 2 caps held\)$/ },
    { results: [pass, notJudged], ok: true, line: /^RESULT: PASS \(3 of 4 caps held; 1 not judged \(the path/ },
    {
      results: [{ ...notJudged, up: direction(20, 19, 18) }],
      ok: true,
      line: /^RESULT: NOT JUDGED \(no cap could be judged; 2 not judged/,
    },
    { results: [pass, swapped], ok: false, line: /^RESULT: FAIL \(2 of 4 failed, 2 held\)$/ },
    { results: [pass, broken], ok: false, line: /^RESULT: FAIL \(1 of 3 failed, 2 held\)$/ },
    { results: [], ok: false, line: /^RESULT: FAIL \(no uplink measured\)$/ },
  ])("result: $line", ({ results, ok, line }) => {
    expect(noFailure(results)).toBe(ok);
    expect(resultLine(results)).toMatch(line);
  });
});

describe("the cap lifted for the path's measurement", () => {
  it("an unlimited class and two u32 filters (to and from the port) on each shaped device, removed again", () => {
    const devices = { mesh: "nebula1", ifb: "ifb-mesh" };
    expect(liftCommands(devices, 20000).map((c) => c.render())).toEqual([
      "tc class add dev nebula1 parent 1: classid 1:99 htb rate 10gbit ceil 10gbit burst 1mb cburst 1mb quantum 200000",
      "tc filter add dev nebula1 parent 1: protocol ip prio 49 u32 match ip protocol 6 0xff match ip sport 20000 0xffff flowid 1:99",
      "tc filter add dev nebula1 parent 1: protocol ip prio 49 u32 match ip protocol 6 0xff match ip dport 20000 0xffff flowid 1:99",
      "tc class add dev ifb-mesh parent 1: classid 1:99 htb rate 10gbit ceil 10gbit burst 1mb cburst 1mb quantum 200000",
      "tc filter add dev ifb-mesh parent 1: protocol ip prio 49 u32 match ip protocol 6 0xff match ip sport 20000 0xffff flowid 1:99",
      "tc filter add dev ifb-mesh parent 1: protocol ip prio 49 u32 match ip protocol 6 0xff match ip dport 20000 0xffff flowid 1:99",
    ]);
    expect(restoreCommands(devices).map((c) => c.render())).toEqual([
      "tc filter del dev nebula1 parent 1: prio 49 2>/dev/null",
      "tc class del dev nebula1 classid 1:99 2>/dev/null",
      "tc filter del dev ifb-mesh parent 1: prio 49 2>/dev/null",
      "tc class del dev ifb-mesh classid 1:99 2>/dev/null",
    ]);
  });

  it("counts the bytes of the lifted class only (tc -s class show, this kernel's output)", () => {
    const out = `class htb 1:99 root prio 0 rate 10Gbit ceil 10Gbit burst 1046250b cburst 1046250b 
 Sent 7400 bytes 100 pkt (dropped 0, overlimits 0 requeues 0) 
 backlog 0b 0p requeues 0
 lended: 1 borrowed: 0 giants: 0
 tokens: 14 ctokens: 14

class htb 1:10 root prio 0 rate 5Mbit ceil 5Mbit burst 1600b cburst 1600b 
 Sent 410 bytes 5 pkt (dropped 0, overlimits 0 requeues 0) 
 backlog 0b 0p requeues 0
class htb 1:99 root prio 0 rate 10Gbit ceil 10Gbit burst 1046250b cburst 1046250b 
 Sent 600 bytes 8 pkt (dropped 0, overlimits 0 requeues 0) 
`;
    expect(bypassBytes(out)).toBe(8000);
    expect(bypassBytes("class htb 1:10 root prio 0 rate 5Mbit\n Sent 410 bytes 5 pkt")).toBe(0);
  });
});

describe("iperf3 on the hosts", () => {
  it.each([
    // The client runs on the uplink (it only connects out, through fw4): the volunteer's upload is the hub sending (-R).
    { direction: "up", want: ["-c", "10.0.4.1", "-p", "20001", "-t", "5", "-O", "1", "-J", "-R"] },
    { direction: "down", want: ["-c", "10.0.4.1", "-p", "20001", "-t", "5", "-O", "1", "-J"] },
  ] as const)("the uplink's iperf3 client for $direction", ({ direction, want }) => {
    expect(
      iperfClientArgs({ hubAddress: "10.0.4.1", port: 20001, direction, options: { seconds: 5, omit: 1 } }),
    ).toEqual(want);
  });

  it("reads iperf3's JSON (receiver side) and its errors", () => {
    expect(
      iperfGoodput(
        JSON.stringify({ end: { sum_sent: { bits_per_second: 5e6 }, sum_received: { bits_per_second: 4.8e6 } } }),
      ),
    ).toBe(4.8e6);
    expect(() => iperfGoodput(JSON.stringify({ error: "unable to connect to server: Connection refused" }))).toThrow(
      /Connection refused/,
    );
    expect(() => iperfGoodput("iperf3: error - unable to connect")).toThrow(/printed no report: iperf3: error/);
  });

  it("stops a recorded PID only while its command line is still the test's iperf3", async () => {
    expect(killRecorded(4242, "-p 20000").render()).toBe(
      "if [ -r /proc/4242/cmdline ] && tr '\\000' ' ' < /proc/4242/cmdline | grep -qF -- '-p 20000'; then kill 4242; fi",
    );
    // For real, on a process of this test's own: a mark it does not carry leaves it running, its own mark stops it.
    const child = spawn("sleep", ["37.5"], { stdio: "ignore" });
    const exited = new Promise<string | null>((done) => child.on("exit", (_code, signal) => done(signal)));
    const within = (ms: number) =>
      Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("still running"), ms))]);
    try {
      spawnSync("sh", ["-c", killRecorded(child.pid!, "-p 20000").render()]);
      expect(await within(300)).toBe("still running");
      spawnSync("sh", ["-c", killRecorded(child.pid!, "sleep 37.5").render()]);
      expect(await within(5000)).toBe("SIGTERM");
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });
});
