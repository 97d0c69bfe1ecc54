// A re-run of an enrollment for a node enrolled before: how its answers differ from what the inventory has, in plain
// words, and the new ones written there. Enrollment applies them (inventory, then the node and the hub from it, then the
// card from the inventory): the installer who types a new bandwidth means it, and a card printed from the answers
// while the inventory and the node kept the old values would tell the volunteer something false.
import { setHostVars } from "../../lib/inventory/edit.ts";

/** One answer as the inventory keeps it: where in the host's vars, and how to say it to a person. */
export interface AnswerField {
  path: readonly string[];
  words: string;
  unit?: string;
}

/** One answer that differs from the inventory's. */
export interface AnswerChange extends AnswerField {
  from: unknown;
  to: unknown;
}

/** An uplink's answers (tasks/enroll-uplink.ts's questions), as its vars hold them. */
export const UPLINK_ANSWERS: readonly AnswerField[] = [
  { path: ["volunteer", "name"], words: "volunteer's name" },
  { path: ["volunteer", "contact"], words: "volunteer's contact" },
  { path: ["volunteer", "location"], words: "router's location" },
  { path: ["bandwidth", "up_mbit"], words: "donated upload", unit: " Mbit/s" },
  { path: ["bandwidth", "down_mbit"], words: "donated download", unit: " Mbit/s" },
];

/** A client's answers (tasks/enroll-client.ts's), as its vars hold them. */
export const CLIENT_ANSWERS: readonly AnswerField[] = [
  { path: ["member", "name"], words: "member's name" },
  { path: ["member", "contact"], words: "member's contact" },
  { path: ["member", "location"], words: "machine's location" },
];

const at = (vars: Record<string, unknown>, path: readonly string[]): unknown =>
  path.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), vars);

/**
 * The answers that differ from `vars` (the host's vars as the inventory gives them, group vars included). An answer
 * not given (undefined: an optional one left out) is no change: a re-run that skips the location keeps it.
 */
export function changedAnswers(
  vars: Record<string, unknown>,
  answers: Record<string, unknown>,
  fields: readonly AnswerField[],
): AnswerChange[] {
  return fields.flatMap((f) => {
    const to = at(answers, f.path);
    const from = at(vars, f.path);
    return to === undefined || to === from ? [] : [{ ...f, from, to }];
  });
}

const shown = (v: unknown, unit = "") => (v === undefined ? "none" : typeof v === "string" ? `"${v}"` : `${v}${unit}`);

/** "donated upload 5 Mbit/s -> 8 Mbit/s; volunteer's name "Ada" -> "Ada L."" */
export const describeChanges = (changes: readonly AnswerChange[]): string =>
  changes.map((c) => `${c.words} ${shown(c.from, c.unit)} -> ${shown(c.to, c.unit)}`).join("; ");

/** Writes the new answers into the host's own vars in the inventory (comments and everything else kept). */
export const saveAnswers = (file: string, name: string, changes: readonly AnswerChange[]): Promise<void> =>
  setHostVars(
    file,
    name,
    changes.map((c) => ({ path: c.path, value: c.to })),
  );
