// Failover test against the lab or the live mesh: cuts each uplink's home line, then all of them, then each radio link
// (uplinks with radio_device), then all, measures from a device on the hub's LAN (new connections, pings lost, the
// hub's route), restores everything, and exits non-zero on failure.
// Usage: npx tsx scripts/test-failover.ts -i <inventory> [--cuts line,radio] [--url URL] [--ping ADDRESS] [--failover-seconds 3]
//   lab inventories (.lab/<run>/inventory.yml): cuts are made in the lab's wiring (the simulated internet, the radio
//   segment); the LAN device is the kitchen laptop (pilot) or the hub's LAN device (internet topology);
//   the live mesh: this machine must be on the hub's LAN; cuts are nftables drops on the uplink routers (removed after;
//   a radio cut removes itself after --radio-cut-seconds, since nothing reaches a router whose radio is cut).
//   --live makes those field cuts on a lab's routers too (the lab's own test of the field's method).
import { loadInventory } from "../lib/inventory/load.ts";
import { UserError } from "../lib/errors.ts";
import { reportError } from "../lib/cli.ts";
import { routingDefaults } from "../roles/routing/defaults.ts";
import { labAccess } from "./failover/lab-access.ts";
import { DEFAULT_RADIO_CUT_SECONDS, liveAccess } from "./failover/live-access.ts";
import { DEFAULT_LIMITS, formatReport, phasesOf, runFailoverTest } from "./failover/scenario.ts";
import { cutKinds, failoverUplinks } from "./failover/uplinks.ts";

const USAGE =
  "Usage: npx tsx scripts/test-failover.ts -i <inventory> [--cuts line,radio] [--url URL] [--ping ADDRESS] [--failover-seconds N] [--recovery-seconds N] [--radio-cut-seconds N] [--live]";

function option(args: string[], ...names: string[]): string | undefined {
  const i = args.findIndex((a) => names.includes(a));
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith("-")) throw new UserError(`${args[i]} needs a value`, USAGE);
  return value;
}

function seconds(args: string[], name: string, fallback: number): number {
  const text = option(args, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0)
    throw new UserError(`${name} takes a number of seconds above 0, got ${JSON.stringify(text)}`, USAGE);
  return n;
}

async function main(args: string[]): Promise<number> {
  if (args.includes("-h") || args.includes("--help")) {
    console.log(USAGE);
    return 0;
  }
  const file = option(args, "-i", "--inventory");
  if (!file) throw new UserError("which mesh? give its inventory with -i", USAGE);
  const inventory = loadInventory(file);
  const { hub, uplinks } = failoverUplinks(inventory);
  const vars = { ...routingDefaults, ...inventory.vars, ...hub.vars };
  const limits = {
    ...DEFAULT_LIMITS,
    failoverSeconds: seconds(args, "--failover-seconds", DEFAULT_LIMITS.failoverSeconds),
    recoverySeconds: seconds(args, "--recovery-seconds", DEFAULT_LIMITS.recoverySeconds),
  };
  const kinds = cutKinds({ text: option(args, "--cuts"), available: phasesOf(uplinks), file, usage: USAGE });
  const access =
    (args.includes("--live") ? null : await labAccess(inventory, uplinks)) ??
    liveAccess(inventory, uplinks, {
      url: option(args, "--url") ?? "http://connectivitycheck.gstatic.com/generate_204",
      pingTarget: option(args, "--ping") ?? String(vars.routing_probe_target),
      radioCutSeconds: seconds(args, "--radio-cut-seconds", DEFAULT_RADIO_CUT_SECONDS),
    });
  // Interrupted (Ctrl-C, a CI timeout): put back what was cut before leaving.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: restoring every cut uplink before exiting`);
      access.close().finally(() => process.exit(130));
    });
  }
  const report = await runFailoverTest(access, { limits, kinds, log: (line) => console.log(line) });
  console.log(`\n${formatReport(report)}`);
  return report.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => process.exit(reportError(err)),
);
