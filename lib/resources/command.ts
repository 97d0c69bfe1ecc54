// A command run only when its guard says so: `creates` (a path that appears once it ran) or `unless` (a check that succeeds once done).
import type { Command } from "../command.ts";
import { pathFact } from "../facts/files.ts";
import { succeedsFact } from "../facts/system.ts";
import type { Fact } from "../facts/fact.ts";
import type { Provides, Resource, ResourceOptions } from "./resource.ts";

export interface GuardedCommandSpec extends ResourceOptions {
  name: string;
  command: Command;
  creates?: string;
  unless?: Command;
  provides?: Provides;
}

export function guardedCommand(spec: GuardedCommandSpec): Resource {
  if (!spec.creates && !spec.unless)
    throw new Error(
      `guarded command "${spec.name}" needs creates or unless: a command without a guard runs every time`,
    );
  const created = spec.creates ? pathFact(spec.creates) : undefined;
  const done = spec.unless ? succeedsFact(spec.unless) : undefined;
  return {
    name: spec.name,
    provides: spec.provides,
    notify: spec.notify,
    tags: spec.tags,
    facts: [created, done].filter((f): f is Fact<never> => f !== undefined),
    plan(read) {
      if (created && read(created).exists) return null;
      if (done && read(done)) return null;
      return { commands: [spec.command], summary: "run" };
    },
  };
}
