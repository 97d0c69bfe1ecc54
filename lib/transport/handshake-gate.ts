// A bound on connection attempts in flight (TCP connect + SSH handshake), independent of --forks: the hosts beyond it
// wait their turn here, before their deadline starts, instead of all handshaking at once and timing out together.

export class HandshakeGate {
  #inFlight = 0;
  #waiting: (() => void)[] = [];
  /** The most attempts that were ever in flight at once (the benchmark and the tests read it). */
  peak = 0;

  constructor(readonly size: number) {
    if (!(size >= 1)) throw new RangeError(`a handshake gate needs room for at least one attempt, got ${size}`);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  /** Runs `work` once a place is free (first come, first served); the place is freed however `work` ends. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#inFlight >= this.size) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#inFlight++;
    this.peak = Math.max(this.peak, this.#inFlight);
    try {
      return await work();
    } finally {
      // The place passes straight to the next in line (so a newcomer cannot overtake it), else it is freed.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#inFlight--;
    }
  }
}

/**
 * Attempts in flight by default. Measured with scripts/bench/handshakes.ts on 200 debian lab hosts (2 cores, load 23-40
 * from other labs; one attempt of 10 s, so a handshake that would need a retry shows as failed):
 * - connect only: ssh2 as before (readyTimeout over TCP + handshake, no bound) 200 of 200 timed out; no bound but the
 *   deadline from TCP up: 0 failed, kex p95 8.0 s + login p95 4.4 s (a hair from 10 s); a bound of 8, 16, 32, 64: all in
 *   14.5-16.5 s (the same as unbounded: the machine's CPU, both ends here, is the limit), handshake p95 0.9, 1.6, 3.0 and
 *   5.9 s;
 * - a converge with --forks 200 (the connected hosts' commands compete with the handshakes for the CPU): no bound 75 of
 *   200 timed out, 32: 15, 16: none (handshake p95 9.9 s at 32, 6.3 s at 16).
 * The floor, 200 parallel `ssh true`, took 68 s then. Nothing is lost in total time by the bound; on a real fleet the
 * routers' CPUs are their own and a slow line's handshake is mostly round trips, where more in flight would go faster:
 * a session can ask for more (SessionOptions.maxHandshakes).
 */
export const DEFAULT_HANDSHAKES = 16;
