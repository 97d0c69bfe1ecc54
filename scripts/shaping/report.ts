// What scripts/test-shaping.ts prints: a table (one row per uplink, Mbit/s), then one line per direction saying its
// verdict with the figures and the limit it was held to, then the result.
import { mbit, type Outcome } from "./verdict.ts";
import type { DirectionResult, UplinkResult } from "./uplink.ts";

const pct = (p: number) => (Number.isFinite(p) ? `${p >= 0 ? "+" : ""}${p.toFixed(1)}%` : "?");
const both = (r: UplinkResult, f: (d: DirectionResult) => string) =>
  r.up && r.down ? `${f(r.up)} / ${f(r.down)}` : "-";

const outcomes = (results: UplinkResult[]): Outcome[] =>
  results.flatMap((r) => (r.error ? ["FAIL" as const] : [r.up?.outcome ?? "FAIL", r.down?.outcome ?? "FAIL"]));

/** No uplink failed (a cap the path cannot fill is not judged: neither a pass nor a failure), and there was one. */
export const noFailure = (results: UplinkResult[]) => results.length > 0 && !outcomes(results).includes("FAIL");

const shortOutcome = (r: UplinkResult) => {
  if (r.error) return "FAIL";
  const [up, down] = [r.up!.outcome, r.down!.outcome];
  return up === down ? up : `up ${up}, down ${down}`;
};

export function formatTable(results: UplinkResult[]): string {
  const rows = [
    ["uplink", "cap up/down Mbit/s", "path up/down", "measured up/down", "error up/down", "result"],
    ...results.map((r) => [
      r.uplink,
      `${mbit(r.capUpBit)} / ${mbit(r.capDownBit)}`,
      both(r, (d) => mbit(d.pathBit)),
      both(r, (d) => mbit(d.measuredBit)),
      both(r, (d) => pct(d.errorPercent)),
      shortOutcome(r),
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** One line per direction (or per uplink that could not be measured): "FAIL uplink-2 down: 4.20 Mbit/s, below ...". */
export function verdictLines(results: UplinkResult[]): string[] {
  return results.flatMap((r) =>
    r.error
      ? [`FAIL ${r.uplink}: ${r.error}`]
      : (["up", "down"] as const).map((d) => {
          const v = r[d]!;
          const earlier = v.earlier?.length
            ? ` (earlier: ${v.earlier.map((e) => `${mbit(e.measuredBit)} under the cap, path ${mbit(e.pathBit)}`).join("; ")})`
            : "";
          return `${v.outcome} ${r.uplink} ${d}: ${v.reason}${earlier}`;
        }),
  );
}

export function resultLine(results: UplinkResult[]): string {
  const all = outcomes(results);
  const count = (o: Outcome) => all.filter((x) => x === o).length;
  const notJudged = count("NOT JUDGED");
  const tail = notJudged
    ? `; ${notJudged} not judged (the path carries less than the cap allows: a faster path or a quieter moment can judge ${notJudged === 1 ? "it" : "them"})`
    : "";
  if (results.length === 0) return "RESULT: FAIL (no uplink measured)";
  if (noFailure(results) && count("PASS") === 0) return `RESULT: NOT JUDGED (no cap could be judged${tail})`;
  return noFailure(results)
    ? `RESULT: PASS (${count("PASS")} of ${all.length} caps held${tail})`
    : `RESULT: FAIL (${count("FAIL")} of ${all.length} failed, ${count("PASS")} held${tail})`;
}
