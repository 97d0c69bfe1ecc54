// One uplink's caps measured and judged: for each direction, what the path carries with the cap lifted for the
// measurement, then what it carries under the cap, judged by verdict.ts. A capped figure below the floor is checked
// against the path once more (a busy moment slows both) and measured again, up to `attempts` times in all.
import { randomInt } from "node:crypto";
import type { Transport } from "../../lib/transport/types.ts";
import type { Cleanups } from "../test-common/cleanup.ts";
import { liftCap, type ShapedDevices } from "./bypass.ts";
import { checkIperf, measureOnce, startIperfServer, type IperfOptions } from "./measure.ts";
import { belowFloor, judgeCap, mbit, type DirectionVerdict } from "./verdict.ts";

export type Direction = "up" | "down";
export type RunKind = "path" | "capped";

export interface DirectionResult extends DirectionVerdict {
  /** Every run in order: bit/s with the cap lifted ("path") or in place ("capped"). */
  runs: { kind: RunKind; bit: number }[];
  /** Verdicts of earlier attempts that ended below the floor. */
  earlier?: DirectionVerdict[];
}

export interface UplinkResult {
  uplink: string;
  capUpBit: number;
  capDownBit: number;
  /** The volunteer's upload: hub -> uplink over the mesh, which the uplink sends on to the internet. */
  up?: DirectionResult;
  /** The volunteer's download: uplink -> hub over the mesh. */
  down?: DirectionResult;
  /** Why it could not be measured (then it fails). */
  error?: string;
}

/** The decision for one direction, given a way to measure (pure apart from `measure`: the unit tests drive it). */
export async function judgeDirection(p: {
  capBit: number;
  attempts: number;
  measure: (kind: RunKind) => Promise<number>;
  log?: (line: string) => void;
  label?: string;
}): Promise<DirectionResult> {
  const runs: DirectionResult["runs"] = [];
  const earlier: DirectionVerdict[] = [];
  const run = async (kind: RunKind) => {
    const bit = await p.measure(kind);
    runs.push({ kind, bit });
    return bit;
  };
  for (let attempt = 1; ; attempt++) {
    const path = await run("path");
    const capped = await run("capped");
    let verdict = judgeCap({ capBit: p.capBit, pathBit: path, measuredBit: capped });
    // Below the floor on a path that could fill the cap: did the path still carry that much right after?
    if (belowFloor(verdict))
      verdict = judgeCap({ capBit: p.capBit, pathBit: Math.min(path, await run("path")), measuredBit: capped });
    if (!belowFloor(verdict) || attempt >= p.attempts)
      return { ...verdict, runs, ...(earlier.length ? { earlier } : {}) };
    p.log?.(`${p.label ?? ""}: ${verdict.reason}; measuring again (attempt ${attempt + 1} of ${p.attempts})`);
    earlier.push(verdict);
  }
}

const WHAT: Record<Direction, string> = { up: "up (hub -> uplink, -R)", down: "down (uplink -> hub)" };

/** Measures and judges one uplink; every process and class it started is gone when it returns (or on Ctrl-C). */
export async function measureUplink(p: {
  name: string;
  hub: Transport;
  uplink: Transport;
  hubAddress: string;
  devices: ShapedDevices;
  caps: Record<Direction, number>;
  options: IperfOptions;
  attempts: number;
  cleanups: Cleanups;
  log: (line: string) => void;
}): Promise<UplinkResult> {
  const { hub, uplink, hubAddress, options, cleanups, log } = p;
  await checkIperf(hub, uplink);
  // Two servers: the path's port goes around the cap, the capped measurement's port does not.
  const pathPort = randomInt(20000, 29999) & ~1;
  const ports: Record<RunKind, number> = { path: pathPort, capped: pathPort + 1 };
  const stops = [
    await startIperfServer(hub, hubAddress, ports.path, cleanups),
    await startIperfServer(hub, hubAddress, ports.capped, cleanups),
  ];
  try {
    const lifted = await liftCap(uplink, p.devices, ports.path, cleanups);
    try {
      const result: UplinkResult = { uplink: p.name, capUpBit: p.caps.up, capDownBit: p.caps.down };
      for (const direction of ["up", "down"] as const) {
        const label = `${p.name} ${direction}`;
        result[direction] = await judgeDirection({
          capBit: p.caps[direction],
          attempts: p.attempts,
          label,
          log,
          measure: async (kind) => {
            log(
              `${label}: ${kind === "path" ? "the path with the cap lifted" : `under the cap of ${mbit(p.caps[direction])} Mbit/s`}, ${WHAT[direction]}, ${options.omit + options.seconds} s ...`,
            );
            const before = kind === "path" ? await lifted.bytes() : 0;
            const bit = await measureOnce({ uplink, hubAddress, port: ports[kind], direction, options, cleanups });
            if (kind === "path") {
              // The lifted class must have carried the measurement, or "the path" was the cap again.
              const carried = (await lifted.bytes()) - before;
              if (carried < (bit * options.seconds) / 8 / 2)
                throw new Error(
                  `the measurement of the path did not go around the cap on ${uplink.target} (${carried} bytes in the lifted class for ${mbit(bit)} Mbit/s over ${options.seconds} s)`,
                );
            }
            log(`${label}: ${mbit(bit)} Mbit/s ${kind === "path" ? "with the cap lifted" : "under the cap"}`);
            return bit;
          },
        });
      }
      return result;
    } finally {
      await lifted.restore();
    }
  } finally {
    for (const stop of stops) await stop();
  }
}
