// Reads the captured procd fixtures (fixtures/): rc.common's verb table, its help texts, ubus's service list samples.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

export interface VerbRow {
  script: "fxa" | "fxb" | "fxc";
  step: number;
  verb: string;
  exitCode: number;
  /** Exact stdout without its last newline, or "help" for rc.common's help text. */
  stdout: string | "help";
  stderr: string;
  /** How many of the script's processes run afterwards. */
  processes: number;
  newPid: boolean;
  links: string[];
  /** `ubus call service list '{"name":…}'` with newlines and tabs removed (as the probe printed it). */
  ubus: string;
}

const text = (cell: string) => (cell === "(empty)" ? "" : cell.replace(/\\n/g, "\n"));

export function verbRows(): VerbRow[] {
  const [, ...lines] = readFileSync(join(DIR, "rc-common-behaviour.tsv"), "utf8").trimEnd().split("\n");
  return lines.map((line) => {
    const c = line.split("\t");
    return {
      script: c[0] as VerbRow["script"],
      step: Number(c[2]),
      verb: c[3].split(" ").pop()!,
      exitCode: Number(c[4]),
      stdout: c[5].startsWith("(the help text") ? "help" : text(c[5]),
      stderr: text(c[6]),
      processes: c[8] === "-" ? 0 : c[8].split(" ").length,
      newPid: c[9] !== "-",
      links: c[10] === "(none)" ? [] : c[10].split(" "),
      ubus: c[11],
    };
  });
}

/** rc.common's help for a procd script ("fxa") or an old-style one ("fxb"), exactly as printed (trailing blank line included). */
export function helpText(kind: "fxa" | "fxb"): string {
  const lines = readFileSync(join(DIR, "rc-common-help.txt"), "utf8").split("\n");
  const start = lines.indexOf(`### /etc/init.d/${kind} help  (also printed for any unknown verb; exit code 0)`) + 1;
  const end = lines.indexOf("exit=0", start);
  return lines.slice(start, end).join("\n") + "\n";
}

/** One captured `ubus call service list` answer, by state (running, crashed_waiting_for_respawn, ...). */
export function ubusSample(state: string): unknown {
  const doc = JSON.parse(readFileSync(join(DIR, "ubus-service-list.json"), "utf8")) as Record<
    string,
    { ubus_output: unknown }
  >;
  return doc[state].ubus_output;
}
