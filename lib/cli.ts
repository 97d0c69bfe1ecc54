// The command line every playbook in tasks/ shares: flags, --help, recap, exit codes, and errors turned into messages.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { resolve } from "node:path";
import { Interrupted, UserError } from "./errors.ts";
import { loadInventory } from "./inventory/load.ts";
import { closest } from "./inventory/locate.ts";
import { selectHosts } from "./inventory/select.ts";
import type { Inventory } from "./inventory/types.ts";
import { mergeVars, parseExtraVar } from "./inventory/vars.ts";
import { withPlaybookLock } from "./run-lock.ts";
import { handleInterrupts } from "./interrupt.ts";
import { Session, type SessionOptions, type WouldPin } from "./runner/session.ts";
import { exitCode, formatRecap, verdict, type HostRecap } from "./runner/report.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

const COMMON: Options = {
  inventory: { type: "string", short: "i", default: "inventory/pilot/hosts.yml" },
  check: { type: "boolean", short: "C" },
  diff: { type: "boolean", short: "D" },
  limit: { type: "string", short: "l" },
  tags: { type: "string", short: "t" },
  "skip-tags": { type: "string" },
  forks: { type: "string", short: "f", default: "20" },
  "extra-vars": { type: "string", short: "e", multiple: true },
  verbose: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
};

const COMMON_HELP = `
Common options:
  -i, --inventory FILE   inventory YAML (default inventory/pilot/hosts.yml)
  -C, --check            plan every host and show what would change; change nothing
  -D, --diff             show unified diffs of changed files (secrets masked)
  -l, --limit LIST       only these hosts or groups (comma list; !name excludes)
  -t, --tags LIST        only tasks with these tags (a role's name is a tag)
      --skip-tags LIST   leave out tasks with these tags
  -f, --forks N          hosts run at once (default 20)
  -e, --extra-vars K=V   set a variable above everything else (repeatable; a.b=1, JSON values)
  -v, --verbose          show the commands each change runs (secrets as ***)
  -h, --help             this text
Exit codes: 0 all hosts ok, 2 a host failed, 4 a host was unreachable, 1 bad input.`;

export interface PlaybookDefinition<O extends Options> {
  /** The file name people type, e.g. "tasks/deploy-hub.ts". */
  command: string;
  summary: string;
  /** Extra flags and their help lines. */
  options?: O;
  help?: string;
  /** Every tag its plays select on (tasks/plays.ts tagsOf): --tags and --skip-tags must name one of them. */
  tags: readonly string[];
  /** Its plays need the hub (the mesh's centre): an inventory without one is refused before any host is dialled. */
  needsHub?: boolean;
  run(session: Session, args: Record<string, unknown>): Promise<HostRecap[]>;
}

/** Tags that would select nothing: refused with the known ones (a typo would otherwise run nothing, or everything). */
export function checkTags(flag: string, tags: string[] | undefined, known: readonly string[], command: string): void {
  for (const tag of tags ?? []) {
    if (known.includes(tag)) continue;
    const hint = closest(tag, [...known]);
    throw new UserError(
      `${flag} ${tag}: no role or task of ${command} has the tag "${tag}"${hint ? ` (did you mean ${hint}?)` : ""}; known tags: ${known.join(", ")}`,
    );
  }
}

/** The hub every mesh playbook works from (a second one is refused when the inventory loads). */
function checkHub(inventory: Inventory): void {
  if (!inventory.groups.hub?.length) {
    throw new UserError(
      `${inventory.file}: the inventory has no hub; expected exactly one host under groups.hub.hosts (the mesh's centre, 10.0.4.1)`,
      "add the hub (its address on the kitchen LAN, os: debian)",
    );
  }
}

/** Parses argv, loads the inventory, runs, prints the recap and exits with the right code. */
export async function runPlaybook<O extends Options>(
  definition: PlaybookDefinition<O>,
  argv = process.argv.slice(2),
): Promise<never> {
  describeForBuild(`npx tsx ${definition.command}`, { ...COMMON, ...(definition.options ?? {}) }, helpOf(definition));
  let session: Session | undefined;
  // The first Ctrl-C stops the run cleanly (its recap, then Interrupted's sentence, exit 130); a second quits at once.
  const interrupts = handleInterrupts((err) => process.exit(reportError(err)));
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        options: { ...COMMON, ...(definition.options ?? {}) },
        allowPositionals: false,
        strict: true,
      });
    } catch (err) {
      throw new UserError((err as Error).message, `run npx tsx ${definition.command} --help`);
    }
    const args = parsed.values as Record<string, unknown>;
    if (args.help) {
      console.log(helpOf(definition));
      process.exit(0);
    }
    const list = (v: unknown) =>
      typeof v === "string"
        ? v
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean)
        : undefined;
    const forks = Number(args.forks);
    if (!Number.isInteger(forks) || forks < 1)
      throw new UserError(`--forks must be a whole number of at least 1, not "${args.forks}"`);
    // Deep: -e bandwidth.up_mbit=3 -e bandwidth.down_mbit=20 sets both.
    const extraVars = mergeVars(...((args["extra-vars"] as string[] | undefined) ?? []).map(parseExtraVar));
    checkTags("--tags", list(args.tags), definition.tags, definition.command);
    checkTags("--skip-tags", list(args["skip-tags"]), definition.tags, definition.command);
    const inventory = loadInventory(resolve(String(args.inventory)), { extraVars });
    if (definition.needsHub) checkHub(inventory);
    if (args.limit) selectHosts(inventory, ["all"], args.limit as string); // a --limit naming nothing: refused now, not at its play
    const options: SessionOptions = {
      check: !!args.check,
      diff: !!args.diff,
      limit: args.limit as string | undefined,
      tags: list(args.tags),
      skipTags: list(args["skip-tags"]),
      verbose: !!args.verbose,
      forks,
      extraVars,
      output: "listr",
    };
    session = new Session(inventory, { ...options, signal: interrupts.signal }); // reads and checks the login key, before any host is dialled
    // One run at a time per inventory (lib/run-lock.ts): a second one waits for this one, or refuses naming it.
    const running = session;
    const recaps = await withPlaybookLock(inventory.file, definition.command, !!options.check, () =>
      definition.run(running, args),
    );
    const interrupted = interrupts.signal.aborted;
    console.log(`\nRECAP${options.check ? " (check mode: nothing was changed)" : ""}\n${formatRecap(recaps)}`);
    for (const r of recaps.filter((r) => r.error && !r.interrupted)) console.error(`\n${r.host}: ${r.error}`);
    if (session.wouldPin.length) console.log(wouldPinLines(session.wouldPin));
    console.log(`\n${verdict(recaps, { check: options.check, interrupted })}`);
    await session.close();
    if (interrupted) throw new Interrupted();
    process.exit(exitCode(recaps));
  } catch (err) {
    await session?.close();
    process.exit(reportError(err));
  }
}

/** --check trusted these new host keys for its run only: what a real run will pin (compare them with the devices'). */
function wouldPinLines(pins: readonly WouldPin[]): string {
  const width = Math.max(...pins.map((p) => p.name.length));
  return [
    `\nNew host keys (check mode: trusted for this run only, not written; a real run pins them in ${pins[0].file}):`,
    ...pins.map((p) => `  ${p.name.padEnd(width)}  ${p.keyType}  ${p.fingerprint}`),
  ].join("\n");
}

const helpOf = (d: PlaybookDefinition<Options>) =>
  `${d.summary}\n\nUsage: npx tsx ${d.command} [options]\n${d.help ?? ""}${COMMON_HELP}`;

/**
 * scripts/build.ts asks each built command for its flags and --help text (MESHISP_DESCRIBE set), so the command's
 * launcher answers --help and refuses a bad flag without loading the rest (node's own start, not seconds). A command
 * with its own main (enrollment) can get the same by calling it (export it then) before anything else.
 */
function describeForBuild(command: string, options: Options, help: string): void {
  if (!process.env.MESHISP_DESCRIBE) return;
  process.stdout.write(JSON.stringify({ command, options, help }));
  process.exit(0);
}

/** The one place an error becomes text: user mistakes without a stack, everything else with one. */
export function reportError(err: unknown): number {
  if (err instanceof Interrupted) {
    console.error(`\ninterrupted; ${err.rerun}`);
    return 130;
  }
  if (err instanceof UserError) {
    console.error(`error: ${err.message}${err.hint ? `\nhint: ${err.hint}` : ""}`);
    return 1;
  }
  console.error(`internal error (a bug; please report it with this text):\n${(err as Error).stack ?? err}`);
  return 3;
}
