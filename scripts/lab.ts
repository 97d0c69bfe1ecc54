// The lab from the command line: up (default topology or --bench N), down (one run or every run), status.
// Usage: npx tsx scripts/lab.ts up [--bench N] | down [RUN_ID] | status
import { readdirSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { labDown, labUp, LAB_DIR, type LabHostSpec } from "./lab/index.ts";
import { DEFAULT_TOPOLOGY } from "./lab/topology.ts";

const [command = "help", arg] = process.argv.slice(2);
switch (command) {
  case "up": {
    const bench = process.argv.indexOf("--bench");
    const hosts = bench > 0
      ? Array.from({ length: Number(process.argv[bench + 1] ?? 10) }, (_, i): LabHostSpec => ({ name: `bench-${i + 1}`, kind: "debian", group: "bench" }))
      : DEFAULT_TOPOLOGY;
    const started = Date.now();
    const lab = await labUp({ hosts });
    console.log(`lab ${lab.runId} up in ${Date.now() - started} ms: ${lab.hosts.length} hosts`);
    for (const h of lab.hosts) console.log(`  ${h.name.padEnd(10)} ${h.kind.padEnd(8)} ssh -i ${lab.sshKeyPath} root@${h.mgmtAddress}   (wan ${h.wanAddress}, public ${h.publicAddress})`);
    console.log(`inventory: ${lab.inventoryPath}\nremove it with: npx tsx scripts/lab.ts down ${lab.runId}`);
    break;
  }
  case "down":
    await labDown(arg);
    console.log(arg ? `lab ${arg} removed` : "every lab removed");
    break;
  case "status": {
    const runs = existsSync(LAB_DIR) ? readdirSync(LAB_DIR).filter((d) => /^ml[0-9a-f]{4}$/.test(d)) : [];
    if (!runs.length) console.log("no lab is up");
    for (const r of runs) {
      const inv = join(LAB_DIR, r, "inventory.yml");
      console.log(`${r}: ${existsSync(inv) ? inv : "(incomplete)"}${existsSync(inv) ? `, ${(readFileSync(inv, "utf8").match(/address:/g) ?? []).length} hosts` : ""}`);
    }
    break;
  }
  default:
    console.log("Usage: npx tsx scripts/lab.ts up [--bench N] | down [RUN_ID] | status");
    process.exit(command === "help" ? 0 : 1);
}
