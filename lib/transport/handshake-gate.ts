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
 * Attempts in flight by default. Measured on the lab (scripts/bench/handshakes.ts): see DEFAULT_HANDSHAKES' commit.
 * A handshake is mostly waiting (round trips); the bound is there for the CPU of both ends and for a jump host that
 * carries every forward, so it only has to be well above what a line's latency needs and well below a few hundred.
 */
export const DEFAULT_HANDSHAKES = 32;
