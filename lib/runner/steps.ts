// The typed values a host's run passes between its phases: the tasks built from the play, their plans, the handlers.
import type { Host } from "../inventory/types.ts";
import type { Handler, Plan, Resource } from "../resources/resource.ts";
import type { Transport } from "../transport/types.ts";
import type { HostRecap, Reporter } from "./report.ts";

export interface RunOptions {
  check?: boolean;
  diff?: boolean;
  tags?: string[];
  skipTags?: string[];
  verbose?: boolean;
  extraVars?: Record<string, unknown>;
  /** Ctrl-C: a host stops before its next phase that changes anything (a step already sent finishes: each is atomic). */
  signal?: AbortSignal;
}

/** A play's tasks for one host (after --tags), and its handlers by name. */
export interface Built {
  tasks: Resource[];
  handlers: Map<string, Handler>;
  skipped: number;
}

/** A task whose plan has commands: a change to make (under --check, one that would be made). */
export interface ChangeStep {
  resource: Resource;
  plan: Plan;
}

/** A handler to run after the changes. */
export interface HandlerStep {
  name: string;
  handler: Handler;
}

/**
 * What planning makes of tasks, in their order: those already as asked, the changes, and the error that stopped
 * planning (a task's plan threw; the tasks before it are still reported ok, as the run always did).
 */
export interface Planned {
  ok: Resource[];
  changes: ChangeStep[];
  error?: unknown;
}

/** What one host's run carries through its phases. */
export interface HostRun {
  host: Host;
  transport: Transport;
  options: RunOptions;
  reporter: Reporter;
  recap: HostRecap;
}
