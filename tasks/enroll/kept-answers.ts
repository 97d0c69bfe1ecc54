// The answers an enrollment was given on a terminal, kept beside the inventory until it completes: a run that stops
// (the router unreachable, a wrong password, Ctrl-C) loses none of them, and the re-run offers them as defaults.
// Never a secret: only the fields of tasks/enroll/field.ts go in, and no password or passphrase is a field.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { writeFileAtomic } from "../../lib/atomic-file.ts";

/**
 * Answers older than this are not offered: an installer who stopped at one home and enrolls another router days later
 * must not take the other volunteer's name with a careless Enter.
 */
const OFFERED_FOR_HOURS = 24;

interface Saved {
  command: string;
  /** When the answers were last written (ISO 8601). */
  saved: string;
  answers: Record<string, string>;
}

export class KeptAnswers {
  /** What the last run left, offered as defaults. */
  readonly offered: Readonly<Record<string, string>>;
  readonly savedAt: string | undefined;
  readonly #answers: Record<string, string>;
  #written = false;

  private constructor(
    readonly file: string,
    private readonly command: string,
    saved: Saved | undefined,
  ) {
    this.offered = { ...saved?.answers };
    this.savedAt = saved?.saved;
    // Answers not given again this time stay kept for the next run.
    this.#answers = { ...saved?.answers };
  }

  /** `command`: "enroll-uplink" or "enroll-client", each its own file (`<inventory>.<command>-answers.json`). */
  static load(inventoryFile: string, command: string, now = Date.now()): KeptAnswers {
    const file = `${inventoryFile}.${command}-answers.json`;
    const saved = readSaved(file, command);
    const fresh = saved && now - Date.parse(saved.saved) < OFFERED_FOR_HOURS * 3_600_000;
    return new KeptAnswers(file, command, fresh ? saved : undefined);
  }

  /** Records one answer (undefined: none), at once and atomically: whatever stops the run next, it is on disk. */
  set(flag: string, text: string | undefined): void {
    if (text === undefined) delete this.#answers[flag];
    else this.#answers[flag] = text;
    const saved: Saved = { command: this.command, saved: new Date().toISOString(), answers: this.#answers };
    // 0600: a volunteer's name and phone number.
    writeFileAtomic(this.file, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600 });
    this.#written = true;
  }

  /** The enrollment completed: nothing is left to offer. */
  forget(): void {
    rmSync(this.file, { force: true });
  }

  /** The line said when the run stops with answers kept; undefined when none are. */
  note(): string | undefined {
    if (!this.#written || !existsSync(this.file)) return undefined;
    return `Your answers so far are kept in ${this.file} (no password or passphrase): run the same command again and it offers them as defaults.`;
  }

  /** The line said at the start of a run that offers them. */
  greeting(): string | undefined {
    if (!Object.keys(this.offered).length) return undefined;
    const when = this.savedAt ? ` of ${this.savedAt.slice(0, 16).replace("T", " ")} UTC` : "";
    return `The answers of the run${when} that stopped are offered as defaults, in brackets: Enter keeps one (${this.file}).`;
  }
}

/** The file's answers; a file that is not ours or is damaged offers nothing (it is overwritten at the first answer). */
function readSaved(file: string, command: string): Saved | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
  const s = parsed as Partial<Saved> | null;
  if (!s || s.command !== command || typeof s.answers !== "object" || s.answers === null) return undefined;
  const answers = Object.fromEntries(
    Object.entries(s.answers).filter((e): e is [string, string] => typeof e[1] === "string"),
  );
  return { command, saved: typeof s.saved === "string" ? s.saved : "", answers };
}
