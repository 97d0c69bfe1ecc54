// Checks every uplink's mesh caps with real iperf3 over the mesh (server on the hub, client on the uplink, both directions) and prints a pass/fail table.
// Usage: npx tsx scripts/test-shaping.ts -i inventory/pilot/hosts.yml [--limit uplink-1,uplink-2] [--seconds 5] [--json]
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { UserError } from "../lib/errors.ts";
import { loadInventory } from "../lib/inventory/load.ts";
import { selectHosts } from "../lib/inventory/select.ts";
import { Session } from "../lib/runner/session.ts";
import { judge, measureDirections } from "./shaping/measure.ts";
import { allPass, formatTable, type UplinkResult } from "./shaping/report.ts";

const HELP = `Usage: npx tsx scripts/test-shaping.ts [-i INVENTORY] [--limit LIST] [--seconds N] [--omit N] [--attempts N] [--json]
(--json: the results as one JSON line after the table)
For each uplink: iperf3 -s on the hub's mesh address (a random port, stopped afterwards), the iperf3 client on the
uplink over the mesh. The uplink only connects out, so its firewall (fw4) needs no opening; the shaping role installs
iperf3 on uplinks (shaping_iperf3: true), the hub needs it too (apt-get install iperf3).
  up   = hub -> uplink over the mesh (client -R) = what the uplink sends to the internet: the volunteer's UPLOAD (bandwidth.up_mbit)
  down = uplink -> hub over the mesh = what the uplink fetches from the internet: the volunteer's DOWNLOAD (bandwidth.down_mbit)
PASS: measured TCP goodput at most the cap and at most 10% below it. An uplink measured below that floor is measured
again, up to --attempts times in all (default 2): the household's own traffic on the line, or a busy CPU on the router
or the hub, slows a measurement without the cap being wrong. Above the cap fails at once: that is the promise.
Exit 0 only if every uplink passes; 1 when one fails, 2 when the test could not run (bad input, hub unreachable).`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      inventory: { type: "string", short: "i", default: "inventory/pilot/hosts.yml" },
      limit: { type: "string", short: "l" },
      seconds: { type: "string", default: "5" },
      omit: { type: "string", default: "1" },
      attempts: { type: "string", default: "2" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const inventory = loadInventory(resolve(values.inventory!));
  const hub = inventory.hosts.find((h) => h.group === "hub" && h.meshIp);
  if (!hub?.meshIp)
    throw new UserError(
      `${inventory.file} has no hub with a mesh IP: the test's iperf3 server runs on the hub's mesh address`,
    );
  const hubAddress = hub.meshIp;
  const uplinks = selectHosts(inventory, ["uplinks"], values.limit);
  if (uplinks.length === 0)
    throw new UserError("no uplinks selected", "check --limit and the inventory's uplinks group");
  const options = { seconds: Number(values.seconds), omit: Number(values.omit) };
  const attempts = Number(values.attempts);
  if (!Number.isInteger(attempts) || attempts < 1)
    throw new UserError(`--attempts ${values.attempts}: a whole number, at least 1`);
  const session = new Session(inventory, { output: "silent" });
  const results: UplinkResult[] = [];
  try {
    const hubTransport = await session.connect(hub);
    // One uplink at a time: the hub's CPU and link are shared by every measurement.
    for (const uplink of uplinks) {
      const bandwidth = uplink.vars.bandwidth as { up_mbit?: number; down_mbit?: number } | undefined;
      const capUp = (bandwidth?.up_mbit ?? NaN) * 1e6;
      const capDown = (bandwidth?.down_mbit ?? NaN) * 1e6;
      try {
        if (!uplink.meshIp) throw new Error("no mesh IP in the inventory (not enrolled?)");
        if (!(capUp > 0 && capDown > 0)) throw new Error("no bandwidth: { up_mbit, down_mbit } in its vars");
        const transport = await session.connect(uplink);
        const retried: UplinkResult["retried"] = [];
        for (let attempt = 1; ; attempt++) {
          const measured = await measureDirections({ hub: hubTransport, uplink: transport, hubAddress, options });
          const result: UplinkResult = {
            uplink: uplink.name,
            up: judge(capUp, measured.upBit),
            down: judge(capDown, measured.downBit),
            ...(retried.length ? { retried } : {}),
          };
          const overCap = measured.upBit > capUp || measured.downBit > capDown;
          if ((result.up.pass && result.down.pass) || overCap || attempt >= attempts) {
            results.push(result);
            break;
          }
          const mbit = (v: { measuredBit: number }) => (v.measuredBit / 1e6).toFixed(2);
          console.log(
            `${uplink.name}: ${mbit(result.up)} / ${mbit(result.down)} Mbit/s is below the floor (attempt ${attempt} of ${attempts}): measuring again`,
          );
          retried.push({ up: result.up, down: result.down });
        }
      } catch (err) {
        results.push({
          uplink: uplink.name,
          up: judge(capUp, NaN),
          down: judge(capDown, NaN),
          error: (err as Error).message,
        });
      }
    }
  } finally {
    await session.close();
  }
  console.log(
    `${formatTable(results)}\n\nup = the volunteer's upload (hub -> uplink over the mesh), down = their download; TCP goodput by iperf3 (${options.seconds} s, first ${options.omit} s left out).`,
  );
  if (values.json) console.log(JSON.stringify(results));
  return allPass(results) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof UserError) console.error(`error: ${err.message}${err.hint ? `\nhint: ${err.hint}` : ""}`);
    else console.error(`error: ${(err as Error).message}`);
    process.exit(2);
  },
);
