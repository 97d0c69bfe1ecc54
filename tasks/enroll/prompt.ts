// The enrollment commands' questions: a flag's value, else a question on the terminal (asked again, with the reason,
// until the answer is right; the last run's answer offered in brackets), else a UserError naming the flag. Secrets
// come from their variable or a prompt without echo, never from flags, and are never kept.
import { UserError } from "../../lib/errors.ts";
import { fromFlag, type Field } from "./field.ts";
import type { KeptAnswers } from "./kept-answers.ts";
import type { Terminal } from "./terminal.ts";

/** What the questions need of a terminal (tasks/enroll/terminal.ts; tests give their own). */
export type Asker = Pick<Terminal, "question" | "secret" | "say">;

export class Questions {
  /**
   * `flags`: the parsed command line; `terminal`: undefined off a terminal (then a missing flag is an error, and
   * nothing is kept); `kept`: the answers kept for a re-run; `hint`: the --help line for errors.
   */
  constructor(
    private readonly flags: Record<string, unknown>,
    readonly terminal: Asker | undefined,
    readonly kept: KeptAnswers | undefined,
    private readonly hint: string,
  ) {
    const greeting = kept?.greeting();
    if (greeting) terminal?.say(greeting);
  }

  /** The field's value: its flag, or the answer to its question; undefined only for an optional field left out. */
  async answer<T>(field: Field<T>): Promise<T | undefined> {
    const given = this.flags[field.flag];
    if (typeof given === "string") {
      const value = fromFlag(field, given, this.hint);
      this.kept?.set(field.flag, given.trim());
      return value;
    }
    const terminal = this.terminal;
    if (!terminal) {
      if (field.fallback !== undefined) return fromFlag(field, field.fallback, this.hint);
      if (field.optional) return undefined;
      throw new UserError(`--${field.flag} is needed (no terminal to ask on)`, this.hint);
    }
    const offered = this.kept?.offered[field.flag] ?? field.fallback;
    const brackets = offered ? ` [${offered}${field.optional ? "; - for none" : ""}]` : "";
    for (;;) {
      const typed = (await terminal.question(`${field.question ?? field.flag}${brackets}: `)).trim();
      if (field.optional && (typed === "-" || (typed === "" && !offered))) {
        this.kept?.set(field.flag, undefined);
        return undefined;
      }
      const text = typed || offered || "";
      const judged = field.judge(text);
      if (judged.ok) {
        this.kept?.set(field.flag, text);
        return judged.value;
      }
      terminal.say(`  ${judged.problem.charAt(0).toUpperCase()}${judged.problem.slice(1)}`);
    }
  }

  /** A field that is never left out (it has no `optional`). */
  async need<T>(field: Field<T>): Promise<T> {
    const value = await this.answer(field);
    if (value === undefined) throw new Error(`${field.flag} is optional: use answer()`);
    return value;
  }

  /** A field only a flag gives (never asked): its value, or undefined. */
  flagOnly<T>(field: Field<T>): T | undefined {
    const given = this.flags[field.flag];
    return typeof given === "string" ? fromFlag(field, given, this.hint) : undefined;
  }

  /** A secret: its environment variable, else typed without echo; off a terminal, the flag that wanted it is named. */
  async secret(prompt: string, env: string, flag: string): Promise<string> {
    const fromEnv = process.env[env];
    if (fromEnv) return fromEnv;
    if (!this.terminal) throw new UserError(`${flag} needs a terminal to ask on, or ${env}`, this.hint);
    return this.terminal.secret(prompt);
  }
}
