// Failover test against the lab or the live mesh: cuts each uplink's upstream, then all of them, measures from a device
// on the hub's LAN (new connections, pings lost, the hub's route), restores everything, and exits non-zero on failure.
// Usage: npx tsx scripts/test-failover.ts -i <inventory> [--url URL] [--ping ADDRESS] [--failover-seconds 3]
//   lab inventories (.lab/<run>/inventory.yml): cuts are made in the simulated internet, the LAN device is the lab's;
//   the live mesh: this machine must be on the hub's LAN; cuts are nftables drops on the uplink routers (removed after).
import { loadInventory } from "../lib/inventory/load.ts";
import { UserError } from "../lib/errors.ts";
import { reportError } from "../lib/cli.ts";
import { routingDefaults } from "../roles/routing/defaults.ts";
import { tunnelPair } from "../roles/routing/tunnel.ts";
import type { UplinkInfo } from "./failover/access.ts";
import { labAccess } from "./failover/lab-access.ts";
import { liveAccess } from "./failover/live-access.ts";
import { DEFAULT_LIMITS, formatReport, runFailoverTest } from "./failover/scenario.ts";

const USAGE = "Usage: npx tsx scripts/test-failover.ts -i <inventory> [--url URL] [--ping ADDRESS] [--failover-seconds N] [--recovery-seconds N]";

function option(args: string[], ...names: string[]): string | undefined {
  const i = args.findIndex((a) => names.includes(a));
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith("-")) throw new UserError(`${args[i]} needs a value`, USAGE);
  return value;
}

async function main(args: string[]): Promise<number> {
  if (args.includes("-h") || args.includes("--help")) {
    console.log(USAGE);
    return 0;
  }
  const file = option(args, "-i", "--inventory");
  if (!file) throw new UserError("which mesh? give its inventory with -i", USAGE);
  const inventory = loadInventory(file);
  const hub = inventory.hosts.find((h) => h.group === "hub" && h.meshIp);
  if (!hub) throw new UserError(`${file} has no hub with a mesh IP`);
  const vars = { ...routingDefaults, ...inventory.vars, ...hub.vars };
  const uplinks: UplinkInfo[] = inventory.hosts
    .filter((h) => h.group === "uplinks" && h.meshIp)
    .map((h) => ({ name: h.name, meshIp: h.meshIp!, dev: tunnelPair(hub.meshIp!, h.meshIp!, vars).hub.dev }));
  if (uplinks.length === 0) throw new UserError(`${file} has no uplinks: nothing to fail over between`);
  const limits = {
    ...DEFAULT_LIMITS,
    failoverSeconds: Number(option(args, "--failover-seconds") ?? DEFAULT_LIMITS.failoverSeconds),
    recoverySeconds: Number(option(args, "--recovery-seconds") ?? DEFAULT_LIMITS.recoverySeconds),
  };
  const access =
    (await labAccess(inventory, uplinks)) ??
    liveAccess(inventory, uplinks, {
      url: option(args, "--url") ?? "http://connectivitycheck.gstatic.com/generate_204",
      pingTarget: option(args, "--ping") ?? String(vars.routing_probe_target),
    });
  // Interrupted (Ctrl-C, a CI timeout): put back what was cut before leaving.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: restoring every cut uplink before exiting`);
      access.close().finally(() => process.exit(130));
    });
  }
  const report = await runFailoverTest(access, limits, (line) => console.log(line));
  console.log(`\n${formatReport(report)}`);
  return report.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => process.exit(reportError(err)),
);
