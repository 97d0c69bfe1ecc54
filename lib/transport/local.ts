// Transport to this machine: the same interface, for a hub run in place and for tests of resources.
import { spawn } from "node:child_process";
import { readFile, rename, writeFile, chmod, rm } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { dirname, basename, join } from "node:path";
import { execFileSync } from "node:child_process";
import type { Command } from "../command.ts";
import type { PutOptions, RunResult, Transport } from "./types.ts";

/** The shell commands run under, and its environment (default: this machine's /bin/sh and environment). */
export interface LocalShell {
  argv: string[];
  env?: NodeJS.ProcessEnv;
  /** Names the transport in messages ("local" by default). */
  target?: string;
}

export class LocalTransport implements Transport {
  readonly target: string;
  roundTrips = 0;

  /** Tests pass dash, or BusyBox ash with only OpenWrt's applets on PATH: the runner's scripts through a real shell. */
  constructor(readonly shell: LocalShell = { argv: ["/bin/sh"] }) {
    this.target = shell.target ?? "local";
  }

  run(command: Command, options: { stdin?: string | Buffer; timeoutMs?: number } = {}): Promise<RunResult> {
    this.roundTrips++;
    return new Promise((resolve) => {
      const [file, ...args] = this.shell.argv;
      const child = spawn(file, [...args, "-c", command.render()], { timeout: options.timeoutMs, env: this.shell.env });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (d: Buffer) => out.push(d));
      child.stderr.on("data", (d: Buffer) => err.push(d));
      child.on("close", (code) =>
        resolve({
          code: code ?? 255,
          stdout: Buffer.concat(out).toString("utf8"),
          stderr: Buffer.concat(err).toString("utf8"),
        }),
      );
      // A command that exits without reading all its stdin closes the pipe: that is its answer, not an error here.
      child.stdin.on("error", () => undefined);
      child.stdin.end(options.stdin ?? "");
    });
  }

  async put(path: string, content: string | Buffer, options: PutOptions = {}): Promise<void> {
    const tmp = join(dirname(path), `.${basename(path)}.meshisp-${randomBytes(4).toString("hex")}`);
    try {
      await writeFile(tmp, content, { mode: 0o600 });
      await chmod(tmp, options.mode ?? 0o644);
      if (options.owner) execFileSync("chown", [`${options.owner}${options.group ? `:${options.group}` : ""}`, tmp]);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  get(path: string): Promise<Buffer> {
    return readFile(path);
  }

  async close(): Promise<void> {}
}
