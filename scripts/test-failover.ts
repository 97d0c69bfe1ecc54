// Failover test against the lab or the live mesh: cuts each uplink's home line, then all of them, then each radio link
// (uplinks with radio_device), then all, measures from a device on the hub's LAN (new connections, pings lost, the
// hub's route), restores everything, and exits non-zero on failure. `--help` says every option.
// Usage: npx tsx scripts/test-failover.ts -i <inventory> [--cuts line,radio] [--url URL] [--ping ADDRESS] [--failover-seconds 3]
//   lab inventories (.lab/<run>/inventory.yml): cuts are made in the lab's wiring (the simulated internet, the radio
//   segment); the LAN device is the kitchen laptop (pilot) or the hub's LAN device (internet topology);
//   the live mesh: this machine must be on the hub's LAN; cuts are nftables drops on the uplink routers (removed after;
//   a radio cut removes itself after --radio-cut-seconds, since nothing reaches a router whose radio is cut).
//   --live makes those field cuts on a lab's routers too (the lab's own test of the field's method).
import { loadInventory } from "../lib/inventory/load.ts";
import { Interrupted, UserError } from "../lib/errors.ts";
import { reportError } from "../lib/cli.ts";
import { routingDefaults } from "../roles/routing/defaults.ts";
import { Cleanups, undoOnInterrupt } from "./test-common/cleanup.ts";
import { FAILOVER_HELP, FAILOVER_USAGE, parseFailoverArgs } from "./failover/args.ts";
import { labAccess } from "./failover/lab-access.ts";
import { liveAccess } from "./failover/live-access.ts";
import { formatReport, phasesOf, runFailoverTest } from "./failover/scenario.ts";
import { cutKinds, failoverUplinks } from "./failover/uplinks.ts";

async function main(argv: string[]): Promise<number> {
  const args = parseFailoverArgs(argv);
  if (args.help) {
    console.log(FAILOVER_HELP);
    return 0;
  }
  const inventory = loadInventory(args.inventory);
  const { hub, uplinks } = failoverUplinks(inventory);
  const vars = { ...routingDefaults, ...inventory.vars, ...hub.vars };
  const kinds = cutKinds({
    text: args.cuts,
    available: phasesOf(uplinks),
    file: args.inventory,
    usage: FAILOVER_USAGE,
  });
  const access =
    (args.live ? null : await labAccess(inventory, uplinks)) ??
    liveAccess(inventory, uplinks, {
      url: args.url ?? "http://connectivitycheck.gstatic.com/generate_204",
      pingTarget: args.ping ?? String(vars.routing_probe_target),
      radioCutSeconds: args.radioCutSeconds,
    });
  // Ctrl-C (or a CI's SIGTERM): every cut put back and the test's web server stopped (access.close, by the PIDs and
  // cuts it recorded), then Interrupted: exit 130. The LAN probes are this process's children and end with it.
  // runFailoverTest closes the access itself when it ends; the undo is for an interruption before that.
  const cleanups = new Cleanups();
  let closed = false;
  cleanups.add(`restore every uplink this test cut (${access.describe})`, async () => {
    if (!closed) await access.close();
  });
  const stopHandlers = undoOnInterrupt(cleanups);
  try {
    const report = await runFailoverTest(access, { limits: args.limits, kinds, log: (line) => console.log(line) });
    closed = true;
    console.log(`\n${formatReport(report)}`);
    return report.ok ? 0 : 1;
  } finally {
    stopHandlers();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof UserError || err instanceof Interrupted) process.exit(reportError(err));
    // A cut that could not be made, a host unreachable: the test could not run (every cut was put back).
    console.error(`error: ${(err as Error).message}`);
    process.exit(2);
  },
);
