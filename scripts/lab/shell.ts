// Runs the lab's own root-side commands: bash scripts, with the output kept for errors.
import { spawn } from "node:child_process";

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
    child.on("close", (code) => {
      const result = { code: code ?? 255, stdout, stderr };
      if (options.check !== false && result.code !== 0) reject(new Error(`lab command failed (exit ${result.code}):\n${script.slice(0, 1500)}\n--- stderr:\n${stderr}`));
      else resolve(result);
    });
    // A script that never reads stdin may exit before the write: not an error.
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
}

/** Runs jobs at most `limit` at a time. */
export async function pool<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i], i);
      }
    }),
  );
  return results;
}

export const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
