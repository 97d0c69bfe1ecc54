// The two scripts a host runs per play: one that prints every fact, one that applies every change. Each is one round trip.
import { randomBytes } from "node:crypto";
import { join, raw, sh, type Command } from "../command.ts";
import type { Fact, ProbeOutput } from "../facts/fact.ts";
import { PENDING_HANDLERS, STATE_DIR } from "../facts/host.ts";

/**
 * Scripts are sent on stdin to `sh -s` and wrapped in a function that is only called on the last line:
 * a script cut short by a lost connection is never half run.
 */
function wrap(body: Command[]): Command {
  return join([raw("meshisp_main() {"), ...body, raw("}"), raw("meshisp_main")], "\n");
}

export const SCRIPT_SHELL = raw("sh -s");

export interface GatherScript {
  script: Command;
  parse(stdout: string): Map<string, ProbeOutput>;
}

/** One probe of the gather script: a command, and where its output goes (one fact, or a batch split among its facts). */
interface Probe {
  command: Command;
  deliver(output: ProbeOutput, results: Map<string, ProbeOutput>): void;
}

function probesOf(facts: readonly Fact<unknown>[]): Probe[] {
  const batches = new Map<string, Fact<unknown>[]>();
  for (const fact of facts)
    if (fact.batch) batches.set(fact.batch.kind, [...(batches.get(fact.batch.kind) ?? []), fact]);
  return [
    ...facts
      .filter((fact) => !fact.batch)
      .map((fact) => ({
        command: fact.command,
        deliver: (o: ProbeOutput, r: Map<string, ProbeOutput>) => r.set(fact.key, o),
      })),
    ...[...batches.values()].map((group) => {
      const batch = group[0].batch!;
      const args = [...new Set(group.map((f) => f.batch!.arg))];
      return {
        command: batch.command(args),
        deliver(output: ProbeOutput, results: Map<string, ProbeOutput>) {
          const split = batch.split(output, args);
          for (const fact of group) {
            const own = split.get(fact.batch!.arg);
            if (own) results.set(fact.key, own);
          }
        },
      };
    }),
  ];
}

export function gatherScript(facts: readonly Fact<unknown>[]): GatherScript {
  const mark = `@@meshisp-${randomBytes(6).toString("hex")}`;
  const probes = probesOf(facts);
  const body = probes.map((probe, i) =>
    join(
      [
        sh`printf '%s\n' ${`${mark} ${i}`}`,
        raw("("),
        probe.command,
        raw(") 2>/dev/null </dev/null"),
        sh`printf '\n%s %s\n' ${`${mark}-rc`} "$?"`,
      ],
      "\n",
    ),
  );
  return {
    script: wrap(body.length ? body : [raw(":")]),
    parse(stdout) {
      const results = new Map<string, ProbeOutput>();
      probes.forEach((probe, i) => {
        const start = stdout.indexOf(`${mark} ${i}\n`);
        const end = stdout.indexOf(`\n${mark}-rc `, start);
        if (start === -1 || end === -1) return;
        const rc = Number(stdout.slice(end + mark.length + 5, stdout.indexOf("\n", end + 1)));
        probe.deliver({ stdout: stdout.slice(start + mark.length + String(i).length + 2, end), code: rc }, results);
      });
      return results;
    },
  };
}

export interface ApplyStep {
  /** Task name or "handler: <name>". */
  label: string;
  commands: Command[];
}

export interface ApplyOutcome {
  /** Steps that finished, in order. */
  done: number;
  failed?: { step: number; code: number; output: string };
}

/**
 * Runs steps in order and stops at the first failure. Notified handlers are written to the host's pending file first,
 * so a run that fails (or is cut) leaves them for the next run; each handler is removed once it has run.
 * `record` names handlers that are only written as pending, not run here: the runner's install phase notifies them,
 * and they run at the end of the same run's second phase (or of the next run, if this one stops).
 */
export function applyScript(
  steps: ApplyStep[],
  handlerSteps: { name: string; step: ApplyStep }[],
  record: readonly string[] = [],
) {
  const mark = `@@meshisp-${randomBytes(6).toString("hex")}`;
  const all = [...steps, ...handlerSteps.map((h) => h.step)];
  const body: Command[] = [raw("T=$(mktemp -d /tmp/meshisp.XXXXXX) || exit 70"), raw(`trap 'rm -rf "$T"' EXIT`)];
  const pending = [...new Set([...record, ...handlerSteps.map((h) => h.name)])];
  if (pending.length) {
    body.push(sh`mkdir -p ${STATE_DIR} && printf '%s\n' ${pending} >> ${PENDING_HANDLERS}`);
  }
  all.forEach((step, i) => {
    const run = join(step.commands, " && ");
    body.push(
      join(
        [
          // A subshell: a step that says `exit` (roles/monitoring/exporter.ts does) fails that step, not the whole script.
          raw("if ("),
          run,
          raw(`) >"$T/out" 2>&1 </dev/null; then`),
          sh`printf '%s\n' ${`${mark} ok ${i}`}`,
          raw("; else rc=$?;"),
          sh`printf '%s %s\n' ${`${mark} fail ${i}`} "$rc"; cat "$T/out"; exit 1; fi`,
        ],
        " ",
      ),
    );
    const handler = i >= steps.length ? handlerSteps[i - steps.length] : undefined;
    if (handler) {
      body.push(
        sh`grep -vxF -e ${handler.name} ${PENDING_HANDLERS} > ${`${PENDING_HANDLERS}.new`}; mv -f ${`${PENDING_HANDLERS}.new`} ${PENDING_HANDLERS}`,
      );
    }
  });
  if (handlerSteps.length) body.push(sh`[ -s ${PENDING_HANDLERS} ] || rm -f ${PENDING_HANDLERS}`);
  return {
    script: wrap(body),
    parse(stdout: string): ApplyOutcome {
      let done = 0;
      for (const line of stdout.split("\n")) {
        if (line.startsWith(`${mark} ok `)) done++;
        else if (line.startsWith(`${mark} fail `)) {
          const [, , step, code] = line.split(" ");
          const output = stdout.slice(stdout.indexOf(line) + line.length + 1);
          return { done, failed: { step: Number(step), code: Number(code), output } };
        }
      }
      return { done };
    },
  };
}
