// One answer an enrollment needs, given as a flag or typed at a question, and the one rule that judges it either way.
// A rule's refusal names no flag: the same words follow "--up-mbit:" in an error, and re-ask the question on a terminal.
import { UserError } from "../../lib/errors.ts";
import { isNodeName } from "../../lib/transport/known-hosts.ts";

type Judged<T> = { ok: true; value: T } | { ok: false; problem: string };

export const accept = <T>(value: T): Judged<T> => ({ ok: true, value });
export const refuse = <T>(problem: string): Judged<T> => ({ ok: false, problem });

export interface Field<T> {
  /** Its flag ("up-mbit"), also its key among the answers kept for a re-run. */
  flag: string;
  /** The question on a terminal ("Donated upload, Mbit/s"); none: only its flag gives it. */
  question?: string;
  /** Offered in brackets and taken on an empty answer; off a terminal, the value of a flag not given. */
  fallback?: string;
  /** May be left out: an empty answer gives none. */
  optional?: boolean;
  judge(text: string): Judged<T>;
}

/** A flag's value, or a UserError naming the flag (the installer typed it). */
export function fromFlag<T>(field: Field<T>, text: string, hint: string): T {
  const judged = field.judge(text);
  if (!judged.ok) throw new UserError(`--${field.flag}: ${judged.problem}`, hint);
  return judged.value;
}

/** A line of text for people (names, contacts, places): not empty, and one line (it goes into YAML and the card). */
export const textField = (flag: string, question: string, what: string, optional = false): Field<string> => ({
  flag,
  question,
  optional,
  judge(text) {
    const t = text.trim();
    if (!t) return refuse(`${what} is required: it cannot be empty`);
    if (/[\u0000-\u001f\u007f]/.test(t)) return refuse(`${what} cannot contain line breaks or control characters`);
    return accept(t);
  },
});

/** A TCP port; `whose` says which ("the router's SSH port (dropbear listens on 22)"). */
export const portField = (whose: string): Field<number> => ({
  flag: "port",
  judge(text) {
    const t = text.trim();
    const n = Number(t);
    return /^\d+$/.test(t) && n >= 1 && n <= 65535
      ? accept(n)
      : refuse(`${JSON.stringify(text)} is not ${whose}: expected a whole number from 1 to 65535`);
  },
});

/** A node name as the inventory and known_hosts take it; `example` is one of the group's ("uplink-4"). */
export const nameField = (example: string): Field<string> => ({
  flag: "name",
  judge: (text) =>
    isNodeName(text)
      ? accept(text)
      : refuse(
          `${JSON.stringify(text)} is not a node name: expected lower-case letters, digits and '-', at most 63 characters, e.g. ${example}`,
        ),
});
