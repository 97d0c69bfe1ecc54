// Checks every service of the stack the hub declares (DNS names, PostgreSQL, Redis, HTTP health, metrics), optionally with the internet cut.
import { parseArgs } from "node:util";
import { reportError } from "../lib/cli.ts";
import { sh } from "../lib/command.ts";
import { UserError } from "../lib/errors.ts";
import { loadInventory } from "../lib/inventory/load.ts";
import { mergeVars, parseExtraVar } from "../lib/inventory/vars.ts";
import { Session } from "../lib/runner/session.ts";
import { checkServices } from "./local-services/checks.ts";
import { cutInternet, restoreInternet } from "./local-services/cut.ts";
import { declaredOnHub } from "./local-services/declared.ts";

const HELP = `Checks the hub's local services, the way the community uses them.

Usage: npx tsx scripts/test-local-services.ts -i INVENTORY [--cut-internet] [--hub NAME] [-e key=value ...]

  --cut-internet   drop the hub's WAN egress with nftables for the checks (Nebula's UDP port and an SSH
                   session over the WAN stay open), check that the DNS forwarders are out of reach, and
                   remove the drop afterwards, also when a check fails or the run is interrupted
  --hub NAME       the hub to check (default: the first host of group hub)
  -e key=value     override a variable, as the playbooks take it (e.g. -e docker_enabled=true)

What is checked: with docker_enabled, all of docker_services (each probe from the hub, and each container
healthy); otherwise docker_native_services. A declared service that does not answer is a FAIL with its name.
Exit codes: 0 every check passed, 1 a check failed or bad input.`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        inventory: { type: "string", short: "i" },
        "cut-internet": { type: "boolean" },
        hub: { type: "string" },
        extra: { type: "string", short: "e", multiple: true },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UserError((err as Error).message, "npx tsx scripts/test-local-services.ts --help");
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.inventory) throw new UserError("-i INVENTORY is needed", "npx tsx scripts/test-local-services.ts --help");
  const inventory = loadInventory(values.inventory);
  const extra = mergeVars(...(values.extra ?? []).map(parseExtraVar));
  const decl = declaredOnHub(inventory, extra, values.hub);
  const session = new Session(inventory, { output: "silent" });
  const transport = await session.connect(decl.hub).catch((err: Error) => {
    throw new UserError(
      `cannot reach the hub ${decl.hub.name} (${decl.hub.address}): ${err.message}`,
      "check the address in the inventory and that SSH to it works",
    );
  });
  const lines: string[] = [];
  let failed = 0;
  const report = (ok: boolean, what: string, detail: string) => {
    if (!ok) failed++;
    const line = `${ok ? "PASS" : "FAIL"}  ${what.padEnd(20)} ${detail}`;
    lines.push(line);
    console.log(line);
  };
  console.log(
    `Local services of ${decl.hub.name} (${decl.services[0]?.runner ?? "none"}: ${decl.services.map((s) => s.name).join(", ") || "nothing declared"})`,
  );
  const interrupted = () => void restoreInternet(transport).finally(() => process.exit(130));
  try {
    if (values["cut-internet"]) {
      process.once("SIGINT", interrupted);
      const dev = await cutInternet(transport, (decl.vars.nebula_port as number | undefined) ?? 4242);
      const forwarder = decl.vars.dns_forwarders[0];
      const probe = forwarder ? await transport.run(sh`ping -c 1 -W 2 ${forwarder}`) : { code: 1 };
      report(
        probe.code !== 0,
        "internet cut",
        forwarder
          ? `WAN ${dev} dropped; forwarder ${forwarder} ${probe.code !== 0 ? "out of reach" : "STILL REACHABLE: the cut did not work"}`
          : `WAN ${dev} dropped`,
      );
    }
    if (decl.services.length === 0)
      report(false, "declaration", "the hub declares no local services (docker_enabled, docker_native_services)");
    for (const r of await checkServices(transport, decl)) report(r.ok, r.service, r.detail);
  } finally {
    if (values["cut-internet"]) {
      await restoreInternet(transport);
      process.off("SIGINT", interrupted);
      console.log("internet restored (nftables table removed)");
    }
    await session.close();
  }
  console.log(failed ? `\n${failed} check(s) FAILED` : `\nall ${lines.length} checks passed`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => process.exit(reportError(err)),
);
