// The main job on the pilot's network (lab topology "pilot", no management network): the maintainer deploys the hub
// and the relay from the kitchen laptop, the installer enrolls three routers (all at 192.168.8.1) from a laptop on each
// home's LAN and a member's machine at a remote home from a laptop on that home's LAN, the kitchen deploys again (the
// member's internet moves into the mesh), every node reaches the hub, a second run from the kitchen changes nothing,
// then the field tests run where a maintainer runs them (the kitchen laptop): the donated caps, failover across the
// uplinks, the hub's services with the internet cut.
// Usage: npx tsx scripts/demo.ts [--keep]
import { spawn, type ChildProcess } from "node:child_process";
import { labUp } from "./lab/index.ts";
import { PILOT_TOPOLOGY } from "./lab/topology.ts";
import { loadInventory } from "../lib/inventory/load.ts";
import { openInventoryCa } from "../lib/pki/passphrase.ts";
import { Session } from "../lib/runner/session.ts";
import { formatRecap } from "../lib/runner/report.ts";
import { deployMesh } from "../tasks/plays.ts";
import { enrollUplink } from "../tasks/enroll/enroll.ts";
import { enrollClient } from "../tasks/enroll/client.ts";
import { reportError } from "../lib/cli.ts";
import { Interrupted } from "../lib/errors.ts";

process.env.MESH_CA_PASSPHRASE ??= "demo passphrase, lab only";
const keep = process.argv.includes("--keep");
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
// Routers wait factory-fresh for the installer, and the member's machine with only root's password (none of them in
// the inventory): the kitchen has no path to either before they are on the mesh.
const MEMBER_PASSWORD = "member's root password, lab only";
const hosts = PILOT_TOPOLOGY.map((h) =>
  h.group === "uplinks"
    ? { ...h, notInInventory: true }
    : h.group === "clients"
      ? { ...h, notInInventory: true, password: MEMBER_PASSWORD }
      : h,
);
const routers = hosts.filter((h) => h.group === "uplinks");
const clients = hosts.filter((h) => h.group === "clients");
const lab = await labUp({ topology: "pilot", hosts });
const kitchen = lab.laptop("kitchen");
let removed: Promise<void> | undefined;
const removeLab = () => (removed ??= keep ? Promise.resolve() : lab.down());
// Ctrl-C: the field test running now stops what it started (a terminal's Ctrl-C reaches it too), then the lab goes,
// and the demo exits through Interrupted (130). A SIGINT to the demo alone: the lab goes after at most 30 s.
let script: ChildProcess | undefined;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: ${keep ? "stopping (the lab is kept)" : `removing the lab ${lab.runId}`}`);
    void (async () => {
      if (script && script.exitCode === null && script.signalCode === null)
        await new Promise((done) => {
          script!.once("close", done);
          setTimeout(done, 30_000);
        });
      await removeLab();
      if (keep) console.error(`Lab kept: npx tsx scripts/lab.ts down ${lab.runId}`);
      process.exit(reportError(new Interrupted("run the demo again: it builds a new lab")));
    })();
  });
}
let failed = false;
let code = 0;
try {
  console.log(
    `Lab ${lab.runId} (pilot): ${lab.hosts.map((h) => `${h.name} (${h.site})`).join(", ")}; inventory ${lab.inventoryPath}; up in ${elapsed()}\n`,
  );
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

  console.log(
    `\n== Field installer: three routers, each at 192.168.8.1 on its home's LAN, enrolled from the same laptop (${elapsed()})`,
  );
  const enrolled: { lab: string; node: string; meshIp: string }[] = [];
  for (const [i, spec] of routers.entries()) {
    console.log(
      `-- ${spec.name} (${lab.host(spec.name).site === "home" ? "radio to the kitchen" : "remote: over the internet only"}): the laptop plugged into its LAN`,
    );
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

  for (const spec of clients) {
    console.log(
      `\n== Installer at a member's home: ${spec.name}, a Debian machine at ${lab.host(spec.name).wanAddress}, from the laptop on that home's LAN (${elapsed()})`,
    );
    await lab.installer.plugInto(spec.name);
    try {
      const result = await enrollClient(
        {
          inventoryFile: lab.inventoryPath,
          address: lab.host(spec.name).wanAddress,
          password: MEMBER_PASSWORD,
          member: { name: "Member 1", contact: "+1 217 555 0150" },
          internetViaMesh: true,
        },
        ca,
        (line) => console.log(`  ${line}`),
        { dial: lab.installer.dial },
      );
      console.log(result.summary.map((l) => `  ${l}`).join("\n"));
      enrolled.push({ lab: spec.name, node: result.name, meshIp: result.meshIp });
      failed ||= result.recaps.some((r) => r.failed || r.unreachable);
    } finally {
      await lab.installer.unplug();
    }
  }
  if (clients.length) {
    console.log(
      `\n== Maintainer, kitchen laptop: deploy again for the new client (the hub's certificate carries the internet, then the client's internet moves into the mesh) (${elapsed()})`,
    );
    const deployed = await converge("silent");
    console.log(formatRecap(deployed));
    failed ||= deployed.some((r) => r.failed || r.unreachable);
  }

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
  const fieldTests: string[] = [];
  for (const [title, file, ...args] of [
    ["The volunteers' caps hold (iperf3 over the mesh)", "scripts/test-shaping.ts"],
    ["The kitchen stays online: each uplink cut, then all (the backup), then back", "scripts/test-failover.ts"],
    ["The hub's services answer with the internet cut", "scripts/test-local-services.ts", "--cut-internet"],
  ]) {
    console.log(
      `\n== ${title} (${elapsed()}): ip netns exec ${kitchen.netns} npx tsx ${file} -i <lab inventory> ${args.join(" ")}`,
    );
    const exit = await new Promise<number | null>((done) => {
      // tsx itself, not npx: npm dies of a Ctrl-C at once, tsx waits for the script to undo what it started.
      script = spawn(
        "ip",
        ["netns", "exec", kitchen.netns, "node_modules/.bin/tsx", file, "-i", lab.inventoryPath, ...args],
        {
          stdio: "inherit",
        },
      ).on("close", done);
    });
    if (exit !== 0) console.log(`(${file} exited ${exit})`);
    fieldTests.push(`${file.replace(/^scripts\//, "")} ${exit === 0 ? "passed" : `exited ${exit}`}`);
    failed ||= exit !== 0;
  }
  console.log(`\nField tests: ${fieldTests.join("; ")}`);
  console.log(
    failed
      ? `\nDEMO FAILED (${elapsed()})`
      : `\nDemo complete in ${elapsed()}: hub (behind CGNAT), relay, 3 routers at 192.168.8.1 and a member's machine on one mesh, run from the kitchen and the installer's laptops; caps, failover and local services checked.`,
  );
} catch (err) {
  code = reportError(err);
} finally {
  if (keep) console.log(`Lab kept: npx tsx scripts/lab.ts down ${lab.runId}`);
  await removeLab();
}
process.exit(code || (failed ? 1 : 0));
