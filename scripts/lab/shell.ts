// Runs the lab's own root-side commands (bash scripts, output kept for errors) and commands inside lab namespaces.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { rootShellEnv } from "./device-env.ts";
import type { LabHostKind } from "./types.ts";

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function bash(script: string, options: { check?: boolean; input?: string } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const result = { code: code ?? 255, stdout, stderr };
      if (options.check !== false && result.code !== 0)
        reject(
          new Error(`lab command failed (exit ${result.code}):\n${script.slice(0, 1500)}\n--- stderr:\n${stderr}`),
        );
      else resolve(result);
    });
    // A script that never reads stdin may exit before the write: not an error.
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
}

/** POSIX single quotes, for the lab's own scripts. */
export const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A shell command in a named network namespace (root filesystem and PID namespace of this machine). */
export const inNetns = (netns: string, cmd: string) =>
  bash(`exec ip netns exec ${q(netns)} sh -c ${q(cmd)}`, { check: false });

/**
 * A shell command inside a lab host: all its namespaces, its chroot, its working directory, and a root shell's
 * environment on that kind of device (device-env.ts), not this process's.
 */
export const inHost = (pid: number, kind: LabHostKind, cmd: string) =>
  bash(`exec ${rootShellEnv(kind)} nsenter -t ${pid} -m -u -n -p -r -w /bin/sh -c ${q(cmd)}`, { check: false });

/**
 * Runs jobs at most `limit` at a time. On a failure no new job starts, and the first error is thrown only once every
 * started job has finished: a caller cleaning up after it never races a job still creating things.
 */
export async function pool<T, R>(
  items: T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  const errors: unknown[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length && errors.length === 0) {
        const i = next++;
        try {
          results[i] = await work(items[i], i);
        } catch (err) {
          errors.push(err);
        }
      }
    }),
  );
  if (errors.length) throw errors[0];
  return results;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A process that has exited but is not reaped yet (or is gone): its state in /proc is Z. */
export function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}
