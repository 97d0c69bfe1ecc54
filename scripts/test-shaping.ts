// Checks every uplink's mesh caps with real iperf3 over the mesh (server on the hub, client on the uplink, both
// directions): first what the path carries with the cap lifted for that measurement, then under the cap; a cap is
// judged only where the path can fill it. Prints a table, a verdict line per direction, and the result.
// Usage: npx tsx scripts/test-shaping.ts -i inventory/pilot/hosts.yml [--limit uplink-1,uplink-2] [--seconds 5] [--json]
import { resolve } from "node:path";
import { Interrupted, UserError } from "../lib/errors.ts";
import { reportError } from "../lib/cli.ts";
import { loadInventory } from "../lib/inventory/load.ts";
import { selectHosts } from "../lib/inventory/select.ts";
import { effectiveVars } from "../lib/inventory/vars.ts";
import { Session } from "../lib/runner/session.ts";
import { shapingDefaults } from "../roles/shaping/defaults.ts";
import { Cleanups, undoOnInterrupt } from "./test-common/cleanup.ts";
import { parseShapingArgs, SHAPING_HELP } from "./shaping/args.ts";
import { formatTable, noFailure, resultLine, verdictLines } from "./shaping/report.ts";
import { measureUplink, type UplinkResult } from "./shaping/uplink.ts";
import { mbit } from "./shaping/verdict.ts";

async function main(argv: string[]): Promise<number> {
  const args = parseShapingArgs(argv);
  if (args.help) {
    console.log(SHAPING_HELP);
    return 0;
  }
  const { options, attempts } = args;
  const inventory = loadInventory(resolve(args.inventory));
  const hub = inventory.hosts.find((h) => h.group === "hub" && h.meshIp);
  if (!hub?.meshIp)
    throw new UserError(
      `${inventory.file} has no hub with a mesh IP: the test's iperf3 servers run on the hub's mesh address`,
    );
  const uplinks = selectHosts(inventory, ["uplinks"], args.limit);
  if (uplinks.length === 0)
    throw new UserError("no uplinks selected", "check --limit and the inventory's uplinks group");

  const session = new Session(inventory, { output: "silent" });
  const cleanups = new Cleanups();
  const stopHandlers = undoOnInterrupt(cleanups);
  const log = (line: string) => console.log(line);
  const results: UplinkResult[] = [];
  try {
    const hubTransport = await session.connect(hub);
    // One uplink at a time: the hub's CPU and link are shared by every measurement.
    for (const [i, uplink] of uplinks.entries()) {
      const vars = effectiveVars(uplink, shapingDefaults);
      const bandwidth = vars.bandwidth as { up_mbit?: number; down_mbit?: number } | undefined;
      const caps = { up: (bandwidth?.up_mbit ?? NaN) * 1e6, down: (bandwidth?.down_mbit ?? NaN) * 1e6 };
      log(
        `== ${uplink.name} (${i + 1} of ${uplinks.length}): caps ${mbit(caps.up)} up / ${mbit(caps.down)} down Mbit/s`,
      );
      try {
        if (!uplink.meshIp) throw new Error("no mesh IP in the inventory (not enrolled?)");
        if (!(caps.up > 0 && caps.down > 0)) throw new Error("no bandwidth: { up_mbit, down_mbit } in its vars");
        results.push(
          await measureUplink({
            name: uplink.name,
            hub: hubTransport,
            uplink: await session.connect(uplink),
            hubAddress: hub.meshIp,
            devices: { mesh: String(vars.shaping_mesh_device), ifb: String(vars.shaping_ifb_device) },
            caps,
            options,
            attempts,
            cleanups,
            log,
          }),
        );
      } catch (err) {
        if (err instanceof Interrupted) throw err;
        results.push({ uplink: uplink.name, capUpBit: caps.up, capDownBit: caps.down, error: (err as Error).message });
      }
    }
  } finally {
    await cleanups.runAll(log);
    stopHandlers();
    await session.close();
  }
  console.log(
    [
      "",
      formatTable(results),
      "",
      ...verdictLines(results),
      "",
      `up = the volunteer's upload (hub -> uplink over the mesh), down = their download; path = with the cap lifted for the measurement; TCP goodput by iperf3 (${options.seconds} s, first ${options.omit} s left out).`,
      resultLine(results),
    ].join("\n"),
  );
  if (args.json) console.log(JSON.stringify(results));
  return noFailure(results) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof UserError || err instanceof Interrupted) process.exit(reportError(err));
    // The hub unreachable, a broken session: not the person's input and not a bug of ours.
    console.error(`error: ${(err as Error).message}`);
    process.exit(2);
  },
);
