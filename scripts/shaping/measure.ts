// Real iperf3 over the mesh: a server on the hub's mesh address, the client on the uplink. The uplink only connects out
// (fw4 passes its replies as "established"), so nothing is opened on a volunteer's router. Both ends run in the
// background with their PIDs recorded, so Ctrl-C stops exactly them (Cleanups), never another iperf3 by name.
import { sh, type Command } from "../../lib/command.ts";
import type { Transport } from "../../lib/transport/types.ts";
import type { Cleanups } from "../test-common/cleanup.ts";

export interface IperfOptions {
  seconds: number;
  /** Seconds of slow start left out of the result (iperf3 -O). */
  omit: number;
}

/** Receiver-side TCP goodput of an iperf3 -J run, in bit/s (the client's report has both sides, with -R too). */
export function iperfGoodput(json: string): number {
  let report: { error?: string; end?: { sum_received?: { bits_per_second?: number } } };
  try {
    report = JSON.parse(json) as typeof report;
  } catch {
    throw new Error(`iperf3 printed no report: ${json.trim().slice(0, 300) || "(nothing)"}`);
  }
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

export async function checkIperf(hub: Transport, uplink: Transport): Promise<void> {
  for (const [role, t] of [
    ["hub", hub],
    ["uplink", uplink],
  ] as const) {
    if ((await t.run(sh`command -v iperf3`)).code !== 0)
      throw new Error(`iperf3 is not installed on ${t.target} (${MISSING[role]})`);
  }
}

/**
 * Stops process `pid` only if it is still the one started (its command line still holds `mark`): a PID recorded
 * minutes ago may belong to another process by now. /proc and BusyBox's tr and grep are on every router.
 */
export const killRecorded = (pid: number, mark: string): Command =>
  sh`if [ -r /proc/${pid}/cmdline ] && tr '\\000' ' ' < /proc/${pid}/cmdline | grep -qF -- ${mark}; then kill ${pid}; fi`;

/** Starts `iperf3 -s` on the hub's mesh address and `port` (daemon, PID file); resolves with the undo that stops it. */
export async function startIperfServer(
  hub: Transport,
  hubAddress: string,
  port: number,
  cleanups: Cleanups,
): Promise<() => Promise<void>> {
  const pidfile = `/tmp/meshisp-iperf3-${port}.pid`;
  // -D returns before the daemon has written its PID file: wait for it (at most 10 s) inside the same command.
  const started = await hub.run(
    sh`rm -f ${pidfile}; iperf3 -s -D -B ${hubAddress} -p ${port} --pidfile ${pidfile} || exit 1; i=0; while [ ! -s ${pidfile} ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; cat ${pidfile}`,
    { timeoutMs: 30_000 },
  );
  const pid = Number(started.stdout.trim());
  if (started.code !== 0 || !Number.isInteger(pid) || pid <= 1)
    throw new Error(
      `could not start iperf3 -s on ${hub.target} (exit ${started.code}): ${(started.stderr || started.stdout).trim().slice(0, 300)}`,
    );
  return cleanups.add(`stop iperf3 -s on ${hub.target} (pid ${pid}, port ${port})`, () =>
    hub.run(sh`${killRecorded(pid, `-p ${port}`)}; rm -f ${pidfile}`),
  );
}

/**
 * Runs the iperf3 client on the uplink in the background (its PID recorded, so Ctrl-C can stop it), waits for it
 * (at most `timeoutSeconds`), and returns its JSON report. `trap '' HUP`: dropbear ends the session that started it.
 */
async function runIperfClient(
  uplink: Transport,
  args: string[],
  cleanups: Cleanups,
  timeoutSeconds: number,
): Promise<{ json: string; stderr: string }> {
  const port = args[args.indexOf("-p") + 1];
  const out = `/tmp/meshisp-iperf3-client-${port}-${process.pid}-${Date.now()}.json`;
  const err = `${out}.err`;
  // Its warnings apart: stderr in the JSON file would make it unreadable.
  const started = await uplink.run(sh`( trap '' HUP; exec iperf3 ${args} ) </dev/null >${out} 2>${err} & echo $!`);
  const pid = Number(started.stdout.trim());
  if (started.code !== 0 || !Number.isInteger(pid) || pid <= 1)
    throw new Error(`could not start iperf3 on ${uplink.target}: ${(started.stderr || started.stdout).trim()}`);
  const stop = cleanups.add(`stop iperf3 -c on ${uplink.target} (pid ${pid})`, () =>
    uplink.run(sh`${killRecorded(pid, `-p ${port}`)}; rm -f ${out} ${err}`),
  );
  try {
    // BusyBox's sleep takes whole seconds: the wait ends at most a second after the client.
    const waited = await uplink.run(
      sh`i=0; while kill -0 ${pid} 2>/dev/null && [ $i -lt ${timeoutSeconds} ]; do sleep 1; i=$((i+1)); done; if kill -0 ${pid} 2>/dev/null; then echo "iperf3 still running after ${timeoutSeconds} s" >&2; exit 124; fi; cat ${out}; cat ${err} >&2`,
      { timeoutMs: (timeoutSeconds + 30) * 1000 },
    );
    if (waited.code !== 0)
      throw new Error(`iperf3 on ${uplink.target}: ${(waited.stderr || waited.stdout).trim().slice(0, 300)}`);
    return { json: waited.stdout, stderr: waited.stderr };
  } finally {
    await stop();
  }
}

/**
 * One measurement: the client on the uplink toward the hub's server on `port`, in `direction`; bit/s. The server
 * forks into the background: a client that found it not yet listening tries again (twice, a second apart).
 */
export async function measureOnce(p: {
  uplink: Transport;
  hubAddress: string;
  port: number;
  direction: "up" | "down";
  options: IperfOptions;
  cleanups: Cleanups;
}): Promise<number> {
  const args = iperfClientArgs(p);
  const timeoutSeconds = p.options.seconds + p.options.omit + 30;
  for (let attempt = 0; ; attempt++) {
    const run = await runIperfClient(p.uplink, args, p.cleanups, timeoutSeconds);
    try {
      return iperfGoodput(run.json);
    } catch (err) {
      const where = `${p.uplink.target} -> ${p.hubAddress}:${p.port}${p.direction === "up" ? ", -R" : ""}`;
      const stderr = run.stderr.trim() ? `; stderr: ${run.stderr.trim().slice(0, 200)}` : "";
      if (attempt >= 2 || !/connect|refused|busy/i.test(String(err)))
        throw new Error(`${String((err as Error).message)} (${where}${stderr})`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
