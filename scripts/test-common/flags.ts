// Command-line flags of the field test scripts (test-shaping, test-failover): parsed and checked before any host is
// contacted, so a typo is one message naming the flag and what it takes, exit 1 (a "five" for seconds once ran
// iperf3 with NaN and hung for minutes; an unknown flag used to be ignored).
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UserError } from "../../lib/errors.ts";

/** What a numeric flag takes: whole numbers or not, its range, and the unit said in the message. */
export interface NumberSpec {
  unit: string;
  min: number;
  max: number;
  /** iperf3 reads -t and -O with atoi: 2.5 would silently be 2. */
  integer?: boolean;
  /** The range is open at `min` (above 0, not 0 itself). */
  aboveMin?: boolean;
}

const range = (s: NumberSpec) =>
  `${s.integer ? "a whole number" : "a number"} of ${s.unit} ${s.aboveMin ? `above ${s.min} and at most ${s.max}` : `from ${s.min} to ${s.max}`}`;

/** The flag's value as a number, `fallback` when it was not given; a UserError naming the flag otherwise. */
export function numberFlag(
  flag: string,
  text: string | undefined,
  spec: NumberSpec,
  fallback: number,
  usage?: string,
): number {
  if (text === undefined) return fallback;
  const value = /^\s*[-+]?(\d+\.?\d*|\.\d+)\s*$/.test(text) ? Number(text) : NaN;
  const ok =
    Number.isFinite(value) &&
    (spec.aboveMin ? value > spec.min : value >= spec.min) &&
    value <= spec.max &&
    (!spec.integer || Number.isInteger(value));
  if (!ok) throw new UserError(`${flag} ${JSON.stringify(text)}: expected ${range(spec)}`, usage);
  return value;
}

/** Describes a NumberSpec for --help: "a whole number of seconds from 1 to 3600". */
export const describeNumber = range;

/**
 * node:util's parseArgs with its errors as UserErrors (an unknown flag, a flag without its value): strict, so
 * `--failover-second 5` is refused instead of ignored.
 */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: T,
  usage: string,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    const message = (err as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    throw new UserError(message.replace(/^Unknown option/, "unknown option"), usage);
  }
}
