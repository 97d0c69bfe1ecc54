// Certificate lifetimes: a number of milliseconds, or text like "365d", "8760h", "1y", "30d12h".
import { UserError } from "../errors.ts";

export type Duration = number | string;

const UNIT_MS: Record<string, number> = { y: 365 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

export function durationMs(duration: Duration, what = "duration"): number {
  if (typeof duration === "number") {
    if (!Number.isFinite(duration) || duration <= 0)
      throw new UserError(`${what} must be a positive number of milliseconds, not ${duration}`);
    return duration;
  }
  const parts = [...duration.matchAll(/(\d+)([ydhms])/g)];
  if (!parts.length || parts.map((p) => p[0]).join("") !== duration.trim()) {
    throw new UserError(`${what} "${duration}" is not a duration like 365d, 8760h, 1y or 30d12h`);
  }
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]], 0);
  if (ms <= 0) throw new UserError(`${what} "${duration}" must be longer than zero`);
  return ms;
}
