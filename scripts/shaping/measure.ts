// Measures an uplink's mesh caps with real iperf3 over the mesh: a server on the uplink's mesh address, the client on the hub.
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

/** Receiver-side TCP goodput of an iperf3 -J run, in bit/s. */
export function iperfGoodput(json: string): number {
  const report = JSON.parse(json) as { error?: string; end?: { sum_received?: { bits_per_second?: number } } };
  if (report.error) throw new Error(`iperf3: ${report.error}`);
  const bits = report.end?.sum_received?.bits_per_second;
  if (typeof bits !== "number") throw new Error("iperf3 printed no result");
  return bits;
}

async function runChecked(t: Transport, command: ReturnType<typeof sh>, what: string): Promise<string> {
  const r = await t.run(command, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`${what} on ${t.target} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(0, 400)}`);
  return r.stdout;
}

/** Runs iperf3 from `client` to a server it starts on `server` at `address`, then stops that server by its PID. */
export async function measureDirections(client: Transport, server: Transport, address: string, options: IperfOptions): Promise<UplinkMeasurement> {
  for (const t of [client, server]) {
    if ((await t.run(sh`command -v iperf3`)).code !== 0) throw new Error(`iperf3 is not installed on ${t.target} (OpenWrt: opkg install iperf3; Debian: apt-get install iperf3)`);
  }
  const port = randomInt(20000, 30000);
  const pidfile = `/tmp/meshisp-iperf3-${port}.pid`;
  await runChecked(server, sh`iperf3 -s -D -B ${address} -p ${port} --pidfile ${pidfile}`, "starting iperf3 -s");
  try {
    const run = async (reverse: boolean) => {
      const args = ["-c", address, "-p", String(port), "-t", String(options.seconds), "-O", String(options.omit), "-J", ...(reverse ? ["-R"] : [])];
      // The server forks into the background: give it a moment to listen, then try once more if it was not yet.
      for (let attempt = 0; ; attempt++) {
        const r = await client.run(sh`iperf3 ${args}`, { timeoutMs: (options.seconds + options.omit + 30) * 1000 });
        try {
          return iperfGoodput(r.stdout);
        } catch (err) {
          if (attempt >= 2 || !/connect|refused|busy/i.test(String(err))) throw new Error(`${String((err as Error).message)} (${client.target} -> ${address}:${port}${reverse ? ", -R" : ""})`);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    };
    const upBit = await run(false);
    const downBit = await run(true);
    return { upBit, downBit };
  } finally {
    await server.run(sh`if [ -f ${pidfile} ]; then kill "$(cat ${pidfile})"; rm -f ${pidfile}; fi`);
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
