// The pass/fail table scripts/test-shaping.ts prints: one row per uplink, caps and measurements in Mbit/s.
import type { CapVerdict } from "./measure.ts";

export interface UplinkResult {
  uplink: string;
  /** The volunteer's upload: hub -> uplink over the mesh, which the uplink sends on to the internet. */
  up: CapVerdict;
  /** The volunteer's download: uplink -> hub over the mesh. */
  down: CapVerdict;
  error?: string;
  /** Earlier measurements of this uplink that fell below the floor (never above the cap: that is never measured again). */
  retried?: { up: CapVerdict; down: CapVerdict }[];
}

const mbit = (bit: number) => (Number.isFinite(bit) ? (bit / 1e6).toFixed(2) : "?");
const pct = (p: number) => `${p >= 0 ? "+" : ""}${p.toFixed(1)}%`;

export const allPass = (results: UplinkResult[]) =>
  results.length > 0 && results.every((r) => !r.error && r.up.pass && r.down.pass);

export function formatTable(results: UplinkResult[]): string {
  const rows = [["uplink", "cap up/down Mbit/s", "measured up/down Mbit/s", "error up/down", "result"]];
  for (const r of results) {
    const caps = `${mbit(r.up.capBit)} / ${mbit(r.down.capBit)}`;
    if (r.error) rows.push([r.uplink, caps, "-", "-", `FAIL: ${r.error}`]);
    else
      rows.push([
        r.uplink,
        caps,
        `${mbit(r.up.measuredBit)} / ${mbit(r.down.measuredBit)}`,
        `${pct(r.up.errorPercent)} / ${pct(r.down.errorPercent)}`,
        r.up.pass && r.down.pass ? "PASS" : "FAIL",
      ]);
  }
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
