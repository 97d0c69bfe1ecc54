// What a field test has started or changed on the hosts (an iperf3 server, a client, a lifted cap, a cut), undone once:
// by the test itself when a step ends, or all at once on Ctrl-C before it exits through Interrupted (exit 130).
// Every undo names its process by the PID recorded when it was started, never by name: another iperf3 on the same
// router (a volunteer's own, another maintainer's test) is not ours to stop.
import { Interrupted } from "../../lib/errors.ts";
import { reportError } from "../../lib/cli.ts";

interface Entry {
  what: string;
  undo: () => Promise<unknown>;
}

export class Cleanups {
  private readonly entries = new Set<Entry>();
  private stopping = false;

  /**
   * Registers an undo; the function returned runs it now (once) and forgets it. Once undoing everything has begun
   * (Ctrl-C), whatever the test started meanwhile is undone too, and the test is stopped here (Interrupted).
   */
  add(what: string, undo: () => Promise<unknown>): () => Promise<void> {
    const entry = { what, undo };
    this.entries.add(entry);
    if (this.stopping) throw new Interrupted();
    return async () => {
      if (!this.entries.delete(entry)) return;
      await entry.undo();
    };
  }

  private newest(): Entry | undefined {
    return [...this.entries].pop();
  }

  /** What is still to undo, newest first. */
  pending(): string[] {
    return [...this.entries].reverse().map((e) => e.what);
  }

  /** Runs every undo still registered, newest first; a failing one is reported and the others still run. */
  async runAll(log: (line: string) => void): Promise<void> {
    this.stopping = true;
    for (let entry = this.newest(); entry; entry = this.newest()) {
      this.entries.delete(entry);
      log(`  ${entry.what}`);
      try {
        await entry.undo();
      } catch (err) {
        log(`  could not: ${(err as Error).message} (undo it by hand)`);
      }
    }
  }
}

/**
 * A terminal's Ctrl-C reaches this process more than once: from the terminal (the whole process group), and relayed by
 * npx and tsx (tsx relays it again when this process has not confirmed it within 30 ms, which a loaded machine
 * misses). Signals this soon after the first are that same Ctrl-C; only a later one is a second.
 */
const SAME_CTRL_C_MS = 2000;

/**
 * On Ctrl-C (or SIGTERM: a CI timeout): undo everything registered, then exit through Interrupted (reportError: the
 * sentence to run it again, exit 130). A second Ctrl-C while undoing exits at once, saying what may be left.
 * `before` runs first (closing what the undo does not need). Returns a function removing the handlers.
 */
export function undoOnInterrupt(cleanups: Cleanups, before?: () => Promise<unknown>): () => void {
  let first: number | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (first !== undefined) {
      if (Date.now() - first < SAME_CTRL_C_MS) return;
      const left = cleanups.pending();
      console.error(`\n${signal} again: exiting now${left.length ? `; perhaps left: ${left.join("; ")}` : ""}`);
      process.exit(130);
    }
    first = Date.now();
    console.error(`\n${signal}: stopping what this test started (Ctrl-C again to quit at once)`);
    void (async () => {
      try {
        await before?.();
      } catch {
        // What it closed may already be gone.
      }
      await cleanups.runAll((line) => console.error(line));
      process.exit(reportError(new Interrupted()));
    })();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}
