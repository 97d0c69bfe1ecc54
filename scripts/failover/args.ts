// scripts/test-failover.ts's command line: every flag checked before any host is contacted (UserError naming the flag
// and what it takes; an unknown flag is refused, not ignored), and the help that documents each.
import { UserError } from "../../lib/errors.ts";
import { describeNumber, numberFlag, parseFlags, type NumberSpec } from "../test-common/flags.ts";
import { CUT_KINDS } from "./access.ts";
import { DEFAULT_RADIO_CUT_SECONDS } from "./live-access.ts";
import { DEFAULT_LIMITS, type Limits } from "./scenario.ts";

export const FAILOVER_NUMBERS = {
  "--failover-seconds": { unit: "seconds", min: 0, aboveMin: true, max: 60 },
  "--recovery-seconds": { unit: "seconds", min: 0, aboveMin: true, max: 120 },
  "--max-lost-pings": { unit: "pings", min: 0, max: 100000, integer: true },
  // BusyBox's sleep on the router takes whole seconds.
  "--radio-cut-seconds": { unit: "seconds", min: 1, max: 600, integer: true },
} satisfies Record<string, NumberSpec>;

export const FAILOVER_USAGE =
  "Usage: npx tsx scripts/test-failover.ts -i INVENTORY [--cuts line,radio] [--url URL] [--ping ADDRESS] [--failover-seconds N] [--recovery-seconds N] [--max-lost-pings N] [--radio-cut-seconds N] [--live]";

const n = (flag: keyof typeof FAILOVER_NUMBERS) => describeNumber(FAILOVER_NUMBERS[flag]);

export const FAILOVER_HELP = `${FAILOVER_USAGE}

Cuts each uplink in turn, then all of them (the backup carries), then brings one back, once per kind of cut, and
measures from a device on the hub's LAN: a new connection (curl) started every 0.1 s, a ping every 20 ms (one flow:
its loss shows the switch), the hub's route of the community's traffic. Every cut is removed at the end, also on a
failed check and on Ctrl-C. Exit 0 when every check passed, 1 when one failed or for bad input, 2 when the test could
not run (a host unreachable, a cut that could not be made), 130 when interrupted (after putting every cut back).
Against a lab's inventory (.lab/<run>/inventory.yml) the cuts are made in the lab's wiring and the LAN device is the
lab's kitchen laptop (or the hub's LAN device); against the live mesh this machine must be on the hub's LAN.

Options:
  -i, --inventory FILE       the mesh's inventory (required)
  --cuts LIST                kinds of cut, in order: ${CUT_KINDS.join(", ")} (default: every kind the inventory's uplinks have;
                             radio needs uplinks with radio_device)
  --url URL                  what new connections fetch on the live mesh (default a connectivity check: each fetch is
                             a new connection, hashed onto any live uplink); the lab serves its own
  --ping ADDRESS             what the LAN device pings on the live mesh (default the hub's routing_probe_target)
  --failover-seconds N       new connections must work again, and the route switch, within N s of a cut
                             (${n("--failover-seconds")}; default ${DEFAULT_LIMITS.failoverSeconds})
  --recovery-seconds N       an uplink back upstream must be in the route again within N s (${n("--recovery-seconds")};
                             default ${DEFAULT_LIMITS.recoverySeconds})
  --max-lost-pings N         pings one switch may lose (${n("--max-lost-pings")}; default ${DEFAULT_LIMITS.maxLostPings})
  --radio-cut-seconds N      live radio cuts: the router lifts its own cut after N s, since nothing reaches a router
                             whose radio is cut (${n("--radio-cut-seconds")}; default ${DEFAULT_RADIO_CUT_SECONDS})
  --live                     make the field's cuts (nftables drops on the routers) on a lab's inventory too
  -h, --help                 this text`;

export interface FailoverArgs {
  inventory: string;
  cuts?: string;
  url?: string;
  ping?: string;
  limits: Limits;
  radioCutSeconds: number;
  live: boolean;
  help: boolean;
}

export function parseFailoverArgs(argv: string[]): FailoverArgs {
  const values = parseFlags(
    argv,
    {
      inventory: { type: "string", short: "i" },
      cuts: { type: "string" },
      url: { type: "string" },
      ping: { type: "string" },
      "failover-seconds": { type: "string" },
      "recovery-seconds": { type: "string" },
      "max-lost-pings": { type: "string" },
      "radio-cut-seconds": { type: "string" },
      live: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    FAILOVER_USAGE,
  );
  // --help answers whatever else is on the line.
  const number = (flag: keyof typeof FAILOVER_NUMBERS, fallback: number) =>
    values.help
      ? fallback
      : numberFlag(
          flag,
          values[flag.slice(2) as keyof typeof values] as string | undefined,
          FAILOVER_NUMBERS[flag],
          fallback,
          FAILOVER_USAGE,
        );
  const limits: Limits = {
    failoverSeconds: number("--failover-seconds", DEFAULT_LIMITS.failoverSeconds),
    recoverySeconds: number("--recovery-seconds", DEFAULT_LIMITS.recoverySeconds),
    maxLostPings: number("--max-lost-pings", DEFAULT_LIMITS.maxLostPings),
  };
  const radioCutSeconds = number("--radio-cut-seconds", DEFAULT_RADIO_CUT_SECONDS);
  if (!values.help && !values.inventory) throw new UserError("which mesh? give its inventory with -i", FAILOVER_USAGE);
  if (values.url !== undefined && !values.help) checkUrl(values.url);
  // It goes into the LAN device's ping command line.
  if (values.ping !== undefined && !values.help && !/^[A-Za-z0-9][A-Za-z0-9.:-]*$/.test(values.ping))
    throw new UserError(`--ping ${JSON.stringify(values.ping)}: expected an address or a host name`, FAILOVER_USAGE);
  return {
    inventory: values.inventory ?? "",
    cuts: values.cuts,
    url: values.url,
    ping: values.ping,
    limits,
    radioCutSeconds,
    live: !!values.live,
    help: !!values.help,
  };
}

function checkUrl(text: string): void {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    // Said below.
  }
  if (!url || !/^https?:$/.test(url.protocol) || /['\s]/.test(text))
    throw new UserError(`--url ${JSON.stringify(text)}: expected an http:// or https:// URL`, FAILOVER_USAGE);
}
