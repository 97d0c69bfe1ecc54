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
}

/** Looks up a gathered fact; resources receive this in plan(). */
export type FactReader = <T>(fact: Fact<T>) => T;

export const defineFact = <T>(key: string, command: Command, parse: (output: ProbeOutput) => T): Fact<T> => ({
  key,
  command,
  parse,
});
