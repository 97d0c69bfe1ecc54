// Typed errors for people: each says what failed, where, and what to do. Turned into text in one place (cli.ts).

/** A mistake in input the user controls (inventory, flags, templates): shown without a stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "UserError";
  }
}

/** The inventory does not say what it must. `where` is "file:line" and `path` the YAML path. */
export class InventoryError extends UserError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly path: string,
    problem: string,
  ) {
    super(`${file}${line ? `:${line}` : ""}: ${path ? `${path}: ` : ""}${problem}`);
    this.name = "InventoryError";
  }
}

/** A host could not be reached or authenticated, or refused its pinned key. */
export class TransportError extends Error {
  constructor(
    readonly target: string,
    message: string,
    readonly unreachable = true,
  ) {
    super(`${target}: ${message}`);
    this.name = "TransportError";
  }
}

/** A remote command failed. The command is shown as displayed (secrets masked). */
export class CommandError extends Error {
  constructor(
    readonly host: string,
    readonly task: string,
    readonly command: string,
    readonly code: number,
    readonly output: string,
  ) {
    super(
      `${host}: ${task}: command failed with exit code ${code}${code === 127 ? " (command not found)" : ""}: ${command}${output ? `\n${output.trimEnd()}` : ""}`,
    );
    this.name = "CommandError";
  }
}

/** A template refers to a variable the host does not have. */
export class TemplateError extends UserError {
  constructor(
    readonly template: string,
    problem: string,
  ) {
    super(`template ${template}: ${problem}`);
    this.name = "TemplateError";
  }
}

/**
 * The person stopped the run (Ctrl-C, or Ctrl-D at a question). Not a failure of theirs nor a bug: cli.ts prints one
 * sentence saying what to do and exits 130, the shell's code for a run ended by SIGINT.
 */
export class Interrupted extends Error {
  constructor(readonly rerun = "run the same command again to finish") {
    super("interrupted");
    this.name = "Interrupted";
  }
}
