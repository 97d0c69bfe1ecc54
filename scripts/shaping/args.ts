// scripts/test-shaping.ts's command line: every flag checked before any host is contacted (UserError naming the
// flag and what it takes), and the help that documents each.
import { describeNumber, numberFlag, parseFlags, type NumberSpec } from "../test-common/flags.ts";
import type { IperfOptions } from "./measure.ts";
import { FILL_MARGIN, FLOOR_TOLERANCE } from "./verdict.ts";

const SHAPING_NUMBERS = {
  "--seconds": { unit: "seconds", min: 1, max: 3600, integer: true },
  "--omit": { unit: "seconds", min: 0, max: 60, integer: true },
  "--attempts": { unit: "attempts", min: 1, max: 10, integer: true },
} satisfies Record<string, NumberSpec>;

const SHAPING_USAGE =
  "Usage: npx tsx scripts/test-shaping.ts [-i INVENTORY] [--limit LIST] [--seconds N] [--omit N] [--attempts N] [--json]";

export const SHAPING_HELP = `${SHAPING_USAGE}

For each uplink, one at a time, both directions, with iperf3 over the mesh: two iperf3 servers on the hub's mesh
address (random ports, stopped afterwards by their PIDs), the client on the uplink (it only connects out, so its
firewall needs no opening; the shaping role installs iperf3 on uplinks, the hub needs it too: apt-get install iperf3).
  up   = hub -> uplink (client -R) = what the uplink sends to the internet: the volunteer's UPLOAD (bandwidth.up_mbit)
  down = uplink -> hub             = what the uplink fetches from the internet: the volunteer's DOWNLOAD (down_mbit)

Each direction is measured twice. First the path itself: the cap is lifted for the test's own port only (a tc class
of its own on the uplink's Nebula device and its IFB, removed right after; everything else stays capped), so for those
seconds the measurement may use more of the volunteer's line than they donated. Then under the cap.
  PASS        under the cap: at most the cap and at most ${FLOOR_TOLERANCE * 100}% below it, on a path that carries at least ${FILL_MARGIN * 100}% more
  FAIL        above the cap (whatever the path: more than was donated went through), or below that floor on such a
              path (measured again up to --attempts times in all: a busy moment slows a measurement)
  NOT JUDGED  the path carries less than the cap plus ${FILL_MARGIN * 100}%: a working cap and a broken one would measure the same
              ("cap 100.00 Mbit/s above what this path carries: 88.00 Mbit/s; not judged")

Options:
  -i, --inventory FILE  the mesh's inventory (default inventory/pilot/hosts.yml); its hub needs a mesh IP
  -l, --limit LIST      only these uplinks (names or groups, comma-separated)
  --seconds N           each iperf3 run measures N seconds (${describeNumber(SHAPING_NUMBERS["--seconds"])}; default 5)
  --omit N              after leaving out its first N seconds of slow start (${describeNumber(SHAPING_NUMBERS["--omit"])}; default 1)
  --attempts N          measurements of a direction below the floor, in all (${describeNumber(SHAPING_NUMBERS["--attempts"])}; default 2)
  --json                the results as one JSON line after the table
  -h, --help            this text
Ctrl-C stops the iperf3 processes the test started and puts every lifted cap back, then exits 130.
Exit 0 when no cap failed (NOT JUDGED is not a failure; the result line counts them), 1 when one failed or for bad
input, 2 when the test could not run (the hub unreachable), 130 when interrupted.`;

export interface ShapingArgs {
  inventory: string;
  limit?: string;
  options: IperfOptions;
  attempts: number;
  json: boolean;
  help: boolean;
}

export function parseShapingArgs(argv: string[]): ShapingArgs {
  const values = parseFlags(
    argv,
    {
      inventory: { type: "string", short: "i", default: "inventory/pilot/hosts.yml" },
      limit: { type: "string", short: "l" },
      seconds: { type: "string" },
      omit: { type: "string" },
      attempts: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    SHAPING_USAGE,
  );
  // --help answers whatever else is on the line.
  const number = (flag: keyof typeof SHAPING_NUMBERS, text: string | undefined, fallback: number) =>
    values.help ? fallback : numberFlag(flag, text, SHAPING_NUMBERS[flag], fallback, SHAPING_USAGE);
  const options = { seconds: number("--seconds", values.seconds, 5), omit: number("--omit", values.omit, 1) };
  const attempts = number("--attempts", values.attempts, 2);
  return {
    inventory: values.inventory!,
    limit: values.limit,
    options,
    attempts,
    json: !!values.json,
    help: !!values.help,
  };
}
