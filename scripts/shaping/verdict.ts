// The verdict on one cap in one direction, from three figures: the cap, what the path carries without it (measured with
// the cap lifted for that one measurement: scripts/shaping/bypass.ts) and what the capped measurement carried.
// A cap is judged only where the path can fill it: on a path that carries less (Nebula's encryption on a busy 2-core
// machine carried 84 Mbit/s under a 100 Mbit cap), a working cap and a broken one measure the same, and a FAIL there
// would be false; so would a PASS. Above the cap always fails: whatever the path, more than was donated went through.

export type Outcome = "PASS" | "FAIL" | "NOT JUDGED";

export interface DirectionVerdict {
  capBit: number;
  /** What the path carried with the cap lifted (the lowest of the runs taken), bit/s. */
  pathBit: number;
  /** What the capped measurement carried, bit/s. */
  measuredBit: number;
  /** (measured - cap) / cap, in percent: negative below the cap. */
  errorPercent: number;
  outcome: Outcome;
  /** Why, with the figures and the limit they were held to. */
  reason: string;
}

/** A cap passes at most this far below itself (TCP/IP headers take 3-5%; more is a cap set too low or a slow shaper). */
export const FLOOR_TOLERANCE = 0.1;
/**
 * The path must carry this much more than the cap for the floor to be judged: with the shaper gone, a second run on a
 * path only just above the cap could land inside the band by chance (a false PASS), and a busy moment below it (a false FAIL).
 */
export const FILL_MARGIN = 0.1;

export const mbit = (bit: number) => (Number.isFinite(bit) ? (bit / 1e6).toFixed(2) : "?");

export function judgeCap(p: {
  capBit: number;
  pathBit: number;
  measuredBit: number;
  tolerance?: number;
  margin?: number;
}): DirectionVerdict {
  const { capBit, pathBit, measuredBit } = p;
  const tolerance = p.tolerance ?? FLOOR_TOLERANCE;
  const margin = p.margin ?? FILL_MARGIN;
  const errorPercent = ((measuredBit - capBit) / capBit) * 100;
  const floorBit = capBit * (1 - tolerance);
  const cap = `the cap ${mbit(capBit)} Mbit/s`;
  const out = (outcome: Outcome, reason: string): DirectionVerdict => ({
    capBit,
    pathBit,
    measuredBit,
    errorPercent,
    outcome,
    reason,
  });
  if (!Number.isFinite(measuredBit)) return out("FAIL", "not measured");
  if (measuredBit > capBit) return out("FAIL", `${mbit(measuredBit)} Mbit/s, above ${cap}`);
  if (!Number.isFinite(pathBit)) return out("FAIL", "what the path carries without the cap was not measured");
  if (pathBit < capBit)
    return out(
      "NOT JUDGED",
      `cap ${mbit(capBit)} Mbit/s above what this path carries: ${mbit(pathBit)} Mbit/s; not judged`,
    );
  if (pathBit < capBit * (1 + margin))
    return out(
      "NOT JUDGED",
      `this path carries ${mbit(pathBit)} Mbit/s, less than ${margin * 100}% above ${cap}: not judged (a path that cannot overfill the cap cannot show it holds)`,
    );
  if (measuredBit < floorBit)
    return out(
      "FAIL",
      `${mbit(measuredBit)} Mbit/s, below the floor ${mbit(floorBit)} Mbit/s (${cap} less ${tolerance * 100}%) on a path that carries ${mbit(pathBit)} Mbit/s`,
    );
  return out(
    "PASS",
    `${mbit(measuredBit)} Mbit/s: at most ${cap} and at least ${mbit(floorBit)}; the path carries ${mbit(pathBit)} without it`,
  );
}

/** Of a FAIL below the floor only: measuring again may show the busy moment passed (above the cap never is measured again). */
export const belowFloor = (v: DirectionVerdict) =>
  v.outcome === "FAIL" && Number.isFinite(v.measuredBit) && v.measuredBit <= v.capBit && Number.isFinite(v.pathBit);
