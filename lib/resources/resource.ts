// A resource states what a host should have; plan() turns facts into the commands that get it there.
import type { Command } from "../command.ts";
import type { Fact, FactReader } from "../facts/fact.ts";

/** What a change to a file looks like, for --diff. `before` is fetched by the runner only when asked. */
export interface FileDiff {
  path: string;
  after: string;
  /** The content is secret: --diff says that it changed, never what it is. */
  secret: boolean;
  /** The file exists now (the runner fetches its content for --diff). */
  exists: boolean;
}

export interface Plan {
  commands: Command[];
  /** One line saying what will change, e.g. "mode 0644 -> 0600". */
  summary?: string;
  diff?: FileDiff;
  /**
   * Runs on the installer's side before the change is sent to the host (never under --check), awaited: what must be
   * known on this side before the host has it, e.g. a certificate entered in the CA's register.
   */
  beforeApply?: () => Promise<void> | void;
  /** Runs on the installer's side once the change is applied on the host (never under --check), e.g. to record an issued certificate. */
  onApplied?: () => void;
}

/**
 * What a resource puts on the host, for a role that must account for the others' work (the sysupgrade role keeps the
 * files and reinstalls the packages after a firmware upgrade). Data, so nothing has to parse a resource's name.
 */
export interface Provides {
  packages?: readonly string[];
  /** A file the resource writes. */
  file?: string;
  /** A supervised service (procd instance or systemd unit) it runs. */
  service?: string;
  /** A one-shot init script it enables at boot. */
  bootService?: string;
}

export interface ResourceOptions {
  /** Handlers to run once, after all resources, if this one changed. */
  notify?: string[];
  /** Extra tags on top of the role's own; `--tags` selects on them. */
  tags?: string[];
}

export interface Resource extends ResourceOptions {
  /** An imperative sentence that is also the log line: "Write /etc/nebula/config.yml". */
  readonly name: string;
  /**
   * Installs software (packages): the runner applies these first, then gathers the other resources' facts again,
   * since their tools (ip-full, tc) may only exist once these ran.
   */
  readonly installs?: boolean;
  readonly provides?: Provides;
  /** The probes plan() reads. */
  readonly facts: readonly Fact<unknown>[];
  /** null, or a plan with no commands, means the host already is as asked. */
  plan(read: FactReader): Plan | null;
}

/** A handler: a named command that runs once per run when notified, e.g. "restart nebula". */
export interface Handler {
  name: string;
  command: Command;
}
