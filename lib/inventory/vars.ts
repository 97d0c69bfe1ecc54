// Variable layers, merged in one documented order (later wins):
//   role defaults < inventory `vars` < group `vars` < host `vars` < command line (-e key=value)
// Objects merge key by key; arrays and scalars are replaced whole.
import { UserError } from "../errors.ts";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A host's effective vars, the one place the layers meet: role defaults < inventory < group < host (already merged
 * into host.vars by loadInventory, with the -e it was given) < -e. Every reader uses it, for its own host and for
 * others (the hub reading its uplinks' caps, monitoring reading each node's ports).
 */
export function effectiveVars(
  host: { vars: Record<string, unknown> },
  defaults: Record<string, unknown> = {},
  extraVars: Record<string, unknown> = {},
): Record<string, unknown> {
  return mergeVars(defaults, host.vars, extraVars);
}

export function mergeVars(...layers: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      out[key] = isObject(value) && isObject(out[key]) ? mergeVars(out[key] as Record<string, unknown>, value) : value;
    }
  }
  return out;
}

/** `-e a.b=1` -> { a: { b: 1 } }; values are JSON when they parse as JSON, else strings. */
export function parseExtraVar(text: string): Record<string, unknown> {
  const at = text.indexOf("=");
  if (at <= 0)
    throw new UserError(`-e ${JSON.stringify(text)}: expected key=value (for example -e shaping_enabled=false)`);
  const path = text.slice(0, at).split(".");
  if (path.some((p) => !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(p)))
    throw new UserError(`-e ${JSON.stringify(text)}: "${text.slice(0, at)}" is not a variable name`);
  let value: unknown = text.slice(at + 1);
  try {
    value = JSON.parse(value as string);
  } catch {
    // a plain string
  }
  return path.reduceRight<unknown>((acc, key) => ({ [key]: acc }), value) as Record<string, unknown>;
}
