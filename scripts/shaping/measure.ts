// Measures an uplink's mesh caps with real iperf3 over the mesh: a server on the hub's mesh address, the client on the
// uplink. The uplink only connects out (fw4 passes its replies as "established"), so nothing is opened on a volunteer's router.
import { randomInt } from "node:crypto";
import { sh } from "../../lib/command.ts";
import type { Transport } from "../../lib/transport/types.ts";

export interface IperfOptions {
  seconds: number;
  /** Seconds of slow start left out of the result (iperf3 -O). */
  omit: number;
}

/** Both directions as the volunteer sees them: up = hub -> uplink -> internet (their upload), down = the reverse. */
export interface UplinkMeasurement {
  upBit: number;
  downBit: number;
}

/** Receiver-side TCP goodput of an iperf3 -J run, in bit/s (the client's report has both sides, with -R too). */
export function iperfGoodput(json: string): number {
  const report = JSON.parse(json) as { error?: string; end?: { sum_received?: { bits_per_second?: number } } };
  if (report.error) throw new Error(`iperf3: ${report.error}`);
  const bits = report.end?.sum_received?.bits_per_second;
  if (typeof bits !== "number") throw new Error("iperf3 printed no result");
  return bits;
}

/**
 * The client's arguments for one direction. The client runs on the uplink: "up" (hub -> uplink, shaped on the IFB the
 * uplink's Nebula ingress goes to) is the server sending, `-R`; "down" (uplink -> hub, Nebula's egress) the client sending.
 */
export function iperfClientArgs(p: {
  hubAddress: string;
  port: number;
  direction: "up" | "down";
  options: IperfOptions;
}): string[] {
  const { hubAddress, port, direction, options } = p;
  return [
    "-c",
    hubAddress,
    "-p",
    String(port),
    "-t",
    String(options.seconds),
    "-O",
    String(options.omit),
    "-J",
    ...(direction === "up" ? ["-R"] : []),
  ];
}

const MISSING = {
  hub: "apt-get install iperf3 on the hub",
  uplink:
    "the shaping role installs it with shaping_iperf3: true (the default): run the uplink play, or by hand: opkg update && opkg install iperf3",
};

async function runChecked(t: Transport, command: ReturnType<typeof sh>, what: string): Promise<string> {
  const r = await t.run(command, { timeoutMs: 60_000 });
  if (r.code !== 0)
    throw new Error(`${what} on ${t.target} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(0, 400)}`);
  return r.stdout;
}

/** Starts iperf3 -s on the hub's mesh address (a random port), runs the uplink's client both ways, stops the server by its PID. */
export async function measureDirections(p: {
  hub: Transport;
  uplink: Transport;
  hubAddress: string;
  options: IperfOptions;
}): Promise<UplinkMeasurement> {
  const { hub, uplink, hubAddress, options } = p;
  for (const [role, t] of [
    ["hub", hub],
    ["uplink", uplink],
  ] as const) {
    if ((await t.run(sh`command -v iperf3`)).code !== 0)
      throw new Error(`iperf3 is not installed on ${t.target} (${MISSING[role]})`);
  }
  const port = randomInt(20000, 30000);
  const pidfile = `/tmp/meshisp-iperf3-${port}.pid`;
  await runChecked(hub, sh`iperf3 -s -D -B ${hubAddress} -p ${port} --pidfile ${pidfile}`, "starting iperf3 -s");
  try {
    const run = async (direction: "up" | "down") => {
      const args = iperfClientArgs({ hubAddress, port, direction, options });
      // The server forks into the background: give it a moment to listen, then try once more if it was not yet.
      for (let attempt = 0; ; attempt++) {
        const r = await uplink.run(sh`iperf3 ${args}`, { timeoutMs: (options.seconds + options.omit + 30) * 1000 });
        try {
          return iperfGoodput(r.stdout);
        } catch (err) {
          const where = `${uplink.target} -> ${hubAddress}:${port}${direction === "up" ? ", -R" : ""}`;
          if (attempt >= 2 || !/connect|refused|busy/i.test(String(err)))
            throw new Error(`${String((err as Error).message)} (${where})`);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    };
    const upBit = await run("up");
    const downBit = await run("down");
    return { upBit, downBit };
  } finally {
    await hub.run(sh`if [ -f ${pidfile} ]; then kill "$(cat ${pidfile})"; rm -f ${pidfile}; fi`);
  }
}

export interface CapVerdict {
  capBit: number;
  measuredBit: number;
  /** (measured - cap) / cap, in percent: negative below the cap. */
  errorPercent: number;
  pass: boolean;
}

/** Pass = at most the cap (the promise) and at least `tolerance` below it (the cap is not set far too low). */
export function judge(capBit: number, measuredBit: number, tolerance = 0.1): CapVerdict {
  const errorPercent = ((measuredBit - capBit) / capBit) * 100;
  return { capBit, measuredBit, errorPercent, pass: measuredBit <= capBit && measuredBit >= capBit * (1 - tolerance) };
}
