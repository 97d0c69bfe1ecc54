// The main job on the lab: a hub and a relay deployed, three volunteers' routers enrolled as uplinks (one whose UDP to
// the hub is blocked), a client device, every tunnel checked, a second run that changes nothing, then the field tests:
// the donated caps, failover across the uplinks to the backup, the hub's services with the internet cut.
// Usage: npx tsx scripts/demo.ts [--keep]
import { spawn } from "node:child_process";
import { labUp } from "./lab/index.ts";
import { DEFAULT_TOPOLOGY } from "./lab/topology.ts";
import { loadInventory } from "../lib/inventory/load.ts";
import { openInventoryCa } from "../lib/pki/passphrase.ts";
import { Session } from "../lib/runner/session.ts";
import { formatRecap } from "../lib/runner/report.ts";
import { deployMesh } from "../tasks/plays.ts";
import { enrollUplink } from "../tasks/enroll/enroll.ts";
import { reportError } from "../lib/cli.ts";

process.env.MESH_CA_PASSPHRASE ??= "demo passphrase, lab only";
const keep = process.argv.includes("--keep");
const uplinkSpecs = DEFAULT_TOPOLOGY.filter((h) => h.group === "uplinks");
const lab = await labUp({ hosts: DEFAULT_TOPOLOGY.map((h) => (h.group === "uplinks" ? { ...h, notInInventory: true, password: "volunteer-router" } : h)) });
let failed = false;
let code = 0;
try {
  console.log(`Lab ${lab.runId}: ${lab.hosts.length} hosts; inventory ${lab.inventoryPath}\n`);
  const ca = await openInventoryCa(loadInventory(lab.inventoryPath), { create: true, name: "Demo Mesh CA" });

  console.log("== Maintainer: deploy the hub and the relay");
  const converge = async (output: "listr" | "silent") => {
    const session = new Session(loadInventory(lab.inventoryPath), { output });
    try {
      return await deployMesh(session, ca);
    } finally {
      await session.close();
    }
  };
  console.log(formatRecap(await converge("listr")));

  console.log("\n== Field installer: enroll three volunteers' routers");
  for (const [i, spec] of uplinkSpecs.entries()) {
    const bw = spec.vars?.bandwidth as { up_mbit: number; down_mbit: number };
    const result = await enrollUplink(
      {
        inventoryFile: lab.inventoryPath,
        address: lab.host(spec.name).mgmtAddress,
        password: "volunteer-router",
        volunteer: { name: `Volunteer ${i + 1}`, contact: `+1 217 555 01${10 + i}` },
        bandwidth: bw,
      },
      ca,
      (line) => console.log(`  ${line}`),
    );
    console.log(result.card);
  }

  console.log("== Every node reaches the hub over the mesh");
  const inventory = loadInventory(lab.inventoryPath);
  for (const host of inventory.hosts.filter((h) => h.group !== "hub")) {
    const labHost = lab.hosts.find((h) => h.mgmtAddress === host.address)!;
    const ok = (await labHost.exec("ping -c 2 -W 2 10.0.4.1 >/dev/null && echo ok")).stdout.includes("ok");
    console.log(`  ${host.name.padEnd(10)} ${host.meshIp?.padEnd(11)} -> hub: ${ok ? "ok" : "FAILED"}`);
    failed ||= !ok;
  }

  console.log("\n== A second run of everything changes nothing");
  const again = await converge("silent");
  console.log(formatRecap(again));
  failed ||= again.some((r) => r.changed || r.failed || r.unreachable);

  // The scripts a maintainer runs against the live mesh, here against the lab's inventory.
  for (const [title, script, ...args] of [
    ["The volunteers' caps hold (iperf3 over the mesh)", "scripts/test-shaping.ts"],
    ["The kitchen stays online: each uplink cut, then all (the backup), then back", "scripts/test-failover.ts"],
    ["The hub's services answer with the internet cut", "scripts/test-local-services.ts", "--cut-internet"],
  ]) {
    console.log(`\n== ${title}: npx tsx ${script} -i <lab inventory> ${args.join(" ")}`);
    const exit = await new Promise<number | null>((done) => spawn("npx", ["tsx", script, "-i", lab.inventoryPath, ...args], { stdio: "inherit" }).on("close", done));
    failed ||= exit !== 0;
  }
  console.log(failed ? "\nDEMO FAILED" : "\nDemo complete: hub, relay, 3 uplinks and a client on one mesh; caps, failover and local services checked.");
} catch (err) {
  code = reportError(err);
} finally {
  if (keep) console.log(`Lab kept: npx tsx scripts/lab.ts down ${lab.runId}`);
  else await lab.down();
}
process.exit(code || (failed ? 1 : 0));
