// The one interface every way of reaching a host implements: run, put, get, close.
import type { Command } from "../command.ts";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PutOptions {
  mode?: number;
  owner?: string;
  group?: string;
}

export interface Transport {
  /** A name for messages, e.g. "root@198.18.1.2:22". */
  readonly target: string;
  /** Runs a command under the host's POSIX sh; never throws for a non-zero exit. */
  run(command: Command, options?: { stdin?: string | Buffer; timeoutMs?: number }): Promise<RunResult>;
  /** Writes a file atomically: a temp file beside the target, then rename. */
  put(path: string, content: string | Buffer, options?: PutOptions): Promise<void>;
  /** Reads a whole file; throws TransportError if it cannot. */
  get(path: string): Promise<Buffer>;
  /** How many commands this transport has run (round trips), for the recap and the benchmark. */
  readonly roundTrips: number;
  close(): Promise<void>;
}
