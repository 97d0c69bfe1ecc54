// The main job on the pilot's network (lab topology "pilot", no management network): the maintainer deploys the hub
// and the relay from the kitchen laptop, the installer enrolls three routers (all at 192.168.8.1) from a laptop on each
// home's LAN, every node reaches the hub, a second run from the kitchen changes nothing, then the field tests run where
// a maintainer runs them (the kitchen laptop): the donated caps, failover across the uplinks, the hub's services with
// the internet cut.
// Usage: npx tsx scripts/demo.ts [--keep]
import { spawn } from "node:child_process";
import { labUp } from "./lab/index.ts";
import { PILOT_TOPOLOGY } from "./lab/topology.ts";
import { loadInventory } from "../lib/inventory/load.ts";
import { openInventoryCa } from "../lib/pki/passphrase.ts";
import { Session } from "../lib/runner/session.ts";
import { formatRecap } from "../lib/runner/report.ts";
import { deployMesh } from "../tasks/plays.ts";
import { enrollUplink } from "../tasks/enroll/enroll.ts";
import { reportError } from "../lib/cli.ts";

process.env.MESH_CA_PASSPHRASE ??= "demo passphrase, lab only";
const keep = process.argv.includes("--keep");
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
// No client: a member's device at a remote home has no path from the kitchen (nor the installer) before it is on the
// mesh, and nothing enrolls one yet; routers wait factory-fresh for the installer (not in the inventory).
const hosts = PILOT_TOPOLOGY.filter((h) => h.group !== "clients").map((h) => (h.group === "uplinks" ? { ...h, notInInventory: true } : h));
const routers = hosts.filter((h) => h.group === "uplinks");
const lab = await labUp({ topology: "pilot", hosts });
const kitchen = lab.laptop("kitchen");
let failed = false;
let code = 0;
try {
  console.log(`Lab ${lab.runId} (pilot): ${lab.hosts.map((h) => `${h.name} (${h.site})`).join(", ")}; inventory ${lab.inventoryPath}; up in ${elapsed()}\n`);
  const ca = await openInventoryCa(loadInventory(lab.inventoryPath), { create: true, name: "Demo Mesh CA" });

  console.log(`== Maintainer, kitchen laptop (${kitchen.address}): deploy the hub and the relay`);
  const converge = async (output: "listr" | "silent") => {
    const session = new Session(loadInventory(lab.inventoryPath), { output, dial: kitchen.dial });
    try {
      return await deployMesh(session, ca);
    } finally {
      await session.close();
    }
  };
  const first = await converge("listr");
  console.log(formatRecap(first));
  failed ||= first.some((r) => r.failed || r.unreachable);

  console.log(`\n== Field installer: three routers, each at 192.168.8.1 on its home's LAN, enrolled from the same laptop (${elapsed()})`);
  const enrolled: { lab: string; node: string; meshIp: string }[] = [];
  for (const [i, spec] of routers.entries()) {
    console.log(`-- ${spec.name} (${lab.host(spec.name).site === "home" ? "radio to the kitchen" : "remote: over the internet only"}): the laptop plugged into its LAN`);
    await lab.installer.plugInto(spec.name);
    try {
      const result = await enrollUplink(
        {
          inventoryFile: lab.inventoryPath,
          address: "192.168.8.1",
          volunteer: { name: `Volunteer ${i + 1}`, contact: `+1 217 555 01${10 + i}` },
          bandwidth: spec.vars?.bandwidth as { up_mbit: number; down_mbit: number },
          askNewPassword: async () => `volunteer router ${i + 1}`,
        },
        ca,
        (line) => console.log(`  ${line}`),
        { dial: lab.installer.dial },
      );
      console.log(result.card);
      enrolled.push({ lab: spec.name, node: result.name, meshIp: result.meshIp });
      failed ||= !result.hubUpdated;
    } finally {
      await lab.installer.unplug();
    }
  }
  const nodes = new Set(enrolled.map((e) => `${e.node} ${e.meshIp}`));
  console.log(`Three routers at one address, ${nodes.size} nodes: ${[...nodes].join(", ")}`);
  failed ||= nodes.size !== routers.length;

  console.log(`\n== Every node reaches the hub over the mesh (${elapsed()})`);
  const inventory = loadInventory(lab.inventoryPath);
  const hubIp = inventory.hosts.find((h) => h.group === "hub")!.meshIp!;
  for (const host of inventory.hosts.filter((h) => h.group !== "hub")) {
    const labName = enrolled.find((e) => e.node === host.name)?.lab ?? host.name;
    const ok = (await lab.host(labName).exec(`ping -c 2 -W 2 ${hubIp} >/dev/null && echo ok`)).stdout.includes("ok");
    console.log(`  ${host.name.padEnd(10)} ${host.meshIp?.padEnd(11)} -> hub ${hubIp}: ${ok ? "ok" : "FAILED"}`);
    failed ||= !ok;
  }

  console.log(`\n== A second run of everything, from the kitchen over the mesh, changes nothing (${elapsed()})`);
  const again = await converge("silent");
  console.log(formatRecap(again));
  failed ||= again.some((r) => r.changed || r.failed || r.unreachable);

  // The scripts a maintainer runs against the live mesh, from the kitchen laptop, here against the lab's inventory.
  for (const [title, script, ...args] of [
    ["The volunteers' caps hold (iperf3 over the mesh)", "scripts/test-shaping.ts"],
    ["The kitchen stays online: each uplink cut, then all (the backup), then back", "scripts/test-failover.ts"],
    ["The hub's services answer with the internet cut", "scripts/test-local-services.ts", "--cut-internet"],
  ]) {
    console.log(`\n== ${title} (${elapsed()}): ip netns exec ${kitchen.netns} npx tsx ${script} -i <lab inventory> ${args.join(" ")}`);
    const exit = await new Promise<number | null>((done) => spawn("ip", ["netns", "exec", kitchen.netns, "npx", "tsx", script, "-i", lab.inventoryPath, ...args], { stdio: "inherit" }).on("close", done));
    if (exit !== 0) console.log(`(${script} exited ${exit})`);
    failed ||= exit !== 0;
  }
  console.log(
    failed
      ? `\nDEMO FAILED (${elapsed()})`
      : `\nDemo complete in ${elapsed()}: hub (behind CGNAT), relay and 3 routers at 192.168.8.1 on one mesh, run from the kitchen and the installer's laptops; caps, failover and local services checked.`,
  );
} catch (err) {
  code = reportError(err);
} finally {
  if (keep) console.log(`Lab kept: npx tsx scripts/lab.ts down ${lab.runId}`);
  else await lab.down();
}
process.exit(code || (failed ? 1 : 0));
