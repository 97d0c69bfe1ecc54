// A fact is a read-only probe of a host: the shell command it runs and the parser of what it prints.
import type { Command } from "../command.ts";

export interface ProbeOutput {
  stdout: string;
  code: number;
}

export interface Fact<T> {
  /** Identity for de-duplication: two resources asking for the same key share one probe. */
  readonly key: string;
  readonly command: Command;
  parse(output: ProbeOutput): T;
  /** Set for facts a host answers together with others of their kind, in one command (the gather uses it, not `command`). */
  readonly batch?: Batch;
}

/**
 * Facts of one kind answered by one command for all of them: every path's state from one `ls` and one `sha256sum`,
 * where a probe per path took two processes per path (lib/facts/files.ts). `split` hands each argument the output its
 * own probe would have printed, so the fact's parser is the same either way.
 */
interface Batch {
  /** Facts of the same kind (the same command and split) share one command. */
  readonly kind: string;
  /** This fact's argument (a path). */
  readonly arg: string;
  command(args: readonly string[]): Command;
  split(output: ProbeOutput, args: readonly string[]): Map<string, ProbeOutput>;
}

/** Looks up a gathered fact; resources receive this in plan(). */
export type FactReader = <T>(fact: Fact<T>) => T;

export const defineFact = <T>(key: string, command: Command, parse: (output: ProbeOutput) => T): Fact<T> => ({
  key,
  command,
  parse,
});

/** A resource read a fact it does not list in `facts`: a bug in the resource (it only worked while another resource gathered it). */
export class UndeclaredFactError extends Error {
  constructor(
    readonly resource: string,
    readonly fact: string,
  ) {
    super(`internal: "${resource}" read fact ${fact}, which it does not declare (add it to the resource's facts)`);
    this.name = "UndeclaredFactError";
  }
}

/**
 * The reader one resource's plan() gets: only the facts it declares. Gathering probes the union of every selected
 * task's facts, so an undeclared read would work by luck and break when `--tags` drops the task that declared it.
 */
export function declaredReader(
  resource: { name: string; facts: readonly Fact<unknown>[] },
  read: FactReader,
): FactReader {
  const declared = new Set(resource.facts.map((f) => f.key));
  return <T>(fact: Fact<T>): T => {
    if (!declared.has(fact.key)) throw new UndeclaredFactError(resource.name, fact.key);
    return read(fact);
  };
}
