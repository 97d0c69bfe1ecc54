// Measurements from a device on the hub's LAN while something happens to the uplinks: a ping every 20 ms (one flow,
// so its loss shows a switch), a new connection every ~50 ms (each hashed onto any live uplink), and the hub's route.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FailoverAccess } from "./access.ts";

interface Attempt {
  /** When it started (this machine's clock, seconds). */
  t: number;
  ok: boolean;
  /** curl's exit code when it failed: 7 could not connect, 28 timed out. */
  code?: number;
}
export interface RouteSample {
  t: number;
  route: string;
}
export interface Measurement {
  /** When the action took effect (seconds, this machine's clock). */
  at: number;
  pingSent: number;
  pingLost: number;
  attempts: Attempt[];
  routes: RouteSample[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => Date.now() / 1000;

/**
 * How long the action itself may take (a cut is an nft command in a namespace or over SSH): the probes may run this
 * much longer, so at least `seconds` of them follow the action (with a window fixed from the start, a cut that took
 * 2 s on a loaded machine left less than the 3 s failover limit to observe, and a switch at 2.5 s read as "never").
 * They stop `seconds` after the action, when a stop file appears: the LAN device's probes run on this machine (the lab's
 * namespaces, or this laptop on the live mesh), and so do the lab hub's; the live hub's route poll runs its full time.
 */
const ACTION_ALLOWANCE_SECONDS = 6;

/** Runs the probes from 0.5 s before `action` until `seconds` after it. */
export async function measureAround(
  access: FailoverAccess,
  seconds: number,
  action: () => Promise<void>,
): Promise<Measurement> {
  const total = seconds + ACTION_ALLOWANCE_SECONDS;
  const dir = mkdtempSync(join(tmpdir(), "meshisp-failover-"));
  const stop = join(dir, "stop");
  const running = `[ ! -e '${stop}' ]`;
  // ping prints its summary when interrupted; -w bounds it if the stop file never comes.
  const ping = access.lan(
    `ping -n -q -i 0.02 -W 1 -w ${Math.ceil(total)} ${access.pingTarget} & p=$!; while ${running} && kill -0 $p 2>/dev/null; do sleep 0.05; done; kill -INT $p 2>/dev/null; wait $p`,
  );
  // A new connection every 0.1 s, each in its own subshell: one that hangs (its SYN lost on a cut uplink) does not
  // hold back the next, so the figure is the first attempt after the switch, not the end of a timed-out one (a
  // sequential loop on a loaded machine started its first attempt after the switch up to a second late, and past
  // the observed window: "never"). Each attempt's criterion is unchanged: connected within 0.5 s, fetched within 1 s.
  const loop = access.lan(
    `i=0; while ${running} && [ $i -lt ${Math.ceil(total * 20)} ]; do ( t=$(date +%s.%N); ` +
      `if curl -s -o /dev/null --connect-timeout 0.5 -m 1 '${access.url.replace(/'/g, "")}'; then echo "$t ok"; else echo "$t fail $?"; fi ) & ` +
      `sleep 0.1; i=$((i+1)); done; wait`,
  );
  const routes = pollRoutes(access, total + 0.5, running);
  const probes = Promise.all([ping, loop, routes]);
  try {
    await sleep(500);
    await action();
    const at = now();
    await sleep(seconds * 1000);
    writeFileSync(stop, "");
    const [p, l, r] = await probes;
    const sent = Number(/(\d+) packets transmitted/.exec(p.stdout)?.[1] ?? 0);
    const received = Number(/(\d+) (?:packets )?received/.exec(p.stdout)?.[1] ?? 0);
    // Figures cover `seconds` after the action, however long it took.
    const attempts = l.stdout
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [t, result, code] = line.split(" ");
        return { t: Number(t), ok: result === "ok", ...(code ? { code: Number(code) } : {}) };
      })
      .filter((a) => Number.isFinite(a.t) && a.t <= at + seconds)
      .sort((a, b) => a.t - b.t);
    return { at, pingSent: sent, pingLost: sent - received, attempts, routes: r };
  } finally {
    // Also when the action failed: the probes stop before their directory goes (without it they would run on).
    writeFileSync(stop, "");
    await probes.catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The hub's route of the community's traffic, sampled every 0.1 s for `seconds` (or while `running` holds there). */
async function pollRoutes(access: FailoverAccess, seconds: number, running = "true"): Promise<RouteSample[]> {
  const n = Math.ceil(seconds / 0.1);
  const out = await access.hub(
    `i=0; while [ $i -lt ${n} ] && ${running}; do echo "$(date +%s.%N) $(ip route show table ${access.table} default | tr '\\n\\t' '  ')"; sleep 0.1; i=$((i+1)); done`,
  );
  return out.stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => ({ t: Number(line.slice(0, line.indexOf(" "))), route: line.slice(line.indexOf(" ") + 1) }));
}

/** Seconds from `at` until new connections succeed again (0 when none failed); null if they never did. */
export function connectionRecovery(m: Measurement): number | null {
  const after = m.attempts.filter((a) => a.t >= m.at - 0.05);
  const lastFail = after.filter((a) => !a.ok).pop();
  if (!lastFail) return 0;
  const next = after.find((a) => a.t > lastFail.t && a.ok);
  return next ? Math.max(0, next.t - m.at) : null;
}

/** Seconds from `at` until the hub's route satisfied `test`; null if it never did in the samples. */
export function routeChange(m: { at: number; routes: RouteSample[] }, test: (route: string) => boolean): number | null {
  const hit = m.routes.find((s) => s.t >= m.at && test(s.route));
  return hit ? Math.max(0, hit.t - m.at) : null;
}

/** Waits until the hub's route satisfies `test` (polling every 0.1 s); seconds it took, or null after `limit` s. */
export async function waitForRoute(
  access: FailoverAccess,
  test: (route: string) => boolean,
  limit: number,
): Promise<number | null> {
  const start = now();
  while (now() - start < limit) {
    const out = await access.hub(`ip route show table ${access.table} default | tr '\\n\\t' '  '`);
    if (test(out.stdout)) return now() - start;
    await sleep(100);
  }
  return null;
}

/** The hub's route uses this tunnel. */
export const via = (dev: string) => (route: string) => new RegExp(`dev ${dev}( |$)`).test(route);
