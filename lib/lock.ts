// An exclusive lock file (O_EXCL) with retries; a lock whose owner process is gone is taken over.
import { openSync, closeSync, readFileSync, unlinkSync, writeSync } from "node:fs";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export async function withLock<T>(file: string, work: () => T | Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
    try {
      const fd = openSync(file, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number(readFileSync(file, { encoding: "utf8", flag: "r" }) || 0);
      if (owner && !alive(owner)) {
        unlinkSync(file);
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${file} has been locked by process ${owner} for ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
    }
  }
  try {
    return await work();
  } finally {
    unlinkSync(file);
  }
}
