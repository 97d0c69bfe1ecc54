// Benchmark: this runner against Ansible and against the floor (parallel `ssh true`), same debian lab hosts, one run.
// Usage: npx tsx scripts/bench.ts [--sizes 10,50] [--no-ansible]
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync, cpSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { labUp, type Lab } from "./lab/index.ts";
import { loadInventory } from "../lib/inventory/load.ts";
import { Session } from "../lib/runner/session.ts";
import type { HostRecap } from "../lib/runner/report.ts";
import { benchRole } from "./bench/role.ts";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { sizes: { type: "string", default: "10,50" }, "no-ansible": { type: "boolean" } } });
const sizes = String(values.sizes).split(",").map(Number);

const seconds = async (work: () => Promise<unknown>) => {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e9;
};

function exec(cmd: string, args: string[], env: Record<string, string> = {}, cwd?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, cwd });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ code: code ?? 255, out }));
  });
}

const sshArgs = (lab: Lab, address: string) => [
  "-i", lab.sshKeyPath, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
  "-o", "LogLevel=ERROR", `root@${address}`,
];

async function sshFloor(lab: Lab): Promise<number> {
  return seconds(async () => {
    const results = await Promise.all(lab.hosts.map((h) => exec("ssh", [...sshArgs(lab, h.mgmtAddress), "true"])));
    const bad = results.filter((r) => r.code !== 0);
    if (bad.length) throw new Error(`ssh true failed on ${bad.length} hosts: ${bad[0].out}`);
  });
}

async function ours(lab: Lab): Promise<{ time: number; recaps: HostRecap[] }> {
  const inventory = loadInventory(lab.inventoryPath);
  const session = new Session(inventory, { forks: lab.hosts.length, output: "silent" });
  let recaps: HostRecap[] = [];
  const time = await seconds(async () => {
    recaps = await session.run({ name: "bench", hosts: ["all"], roles: [benchRole] });
    await session.close();
  });
  const failed = recaps.filter((r) => r.failed || r.unreachable);
  if (failed.length) throw new Error(`runner failed on ${failed.length} hosts: ${failed[0].error}`);
  return { time, recaps };
}

async function ansible(lab: Lab): Promise<{ time: number; changed: number }> {
  const dir = join(lab.dir, "ansible");
  mkdirSync(dir, { recursive: true });
  cpSync(join(here, "bench", "ansible"), dir, { recursive: true });
  writeFileSync(
    join(dir, "hosts.ini"),
    `[bench]\n${lab.hosts.map((h) => `${h.name} ansible_host=${h.mgmtAddress} ansible_user=root`).join("\n")}\n`,
  );
  writeFileSync(
    join(dir, "ansible.cfg"),
    `[defaults]\nhost_key_checking = False\nforks = ${lab.hosts.length}\ninterpreter_python = /usr/bin/python3\nretry_files_enabled = False\n` +
      `[ssh_connection]\npipelining = True\nssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes\n`,
  );
  let result = { code: 0, out: "" };
  const time = await seconds(async () => {
    result = await exec("ansible-playbook", ["-i", "hosts.ini", "--private-key", lab.sshKeyPath, "bench.yml"], { ANSIBLE_CONFIG: join(dir, "ansible.cfg") }, dir);
  });
  if (result.code !== 0) throw new Error(`ansible-playbook failed:\n${result.out.slice(-2000)}`);
  const changed = [...result.out.matchAll(/changed=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  return { time, changed };
}

const rows: string[] = [];
for (const n of sizes) {
  const lab = await labUp({ hosts: Array.from({ length: n }, (_, i) => ({ name: `bench-${i + 1}`, kind: "debian" as const, group: "bench" })) });
  try {
    // Pin host keys first so neither tool pays for first contact inside the timing.
    await ours(lab).catch(() => undefined);
    const floor = await sshFloor(lab);
    // Reset the bench files so the "first converge" really changes everything.
    await Promise.all(lab.hosts.map((h) => exec("ssh", [...sshArgs(lab, h.mgmtAddress), "rm -rf /etc/bench"])));
    const first = await ours(lab);
    const noop = await ours(lab);
    const changedOnNoop = noop.recaps.reduce((s, r) => s + r.changed, 0);
    const trips = { first: Math.max(...first.recaps.map((r) => r.roundTrips)), noop: Math.max(...noop.recaps.map((r) => r.roundTrips)) };
    let line = `N=${n}: ssh-true floor ${floor.toFixed(2)} s | runner first ${first.time.toFixed(2)} s, no-op ${noop.time.toFixed(2)} s ` +
      `(no-op changes ${changedOnNoop}; round trips per host: first ${trips.first}, no-op ${trips.noop}; 1 connection per host) | ` +
      `runner/floor: first ${(first.time / floor).toFixed(2)}x, no-op ${(noop.time / floor).toFixed(2)}x`;
    if (!values["no-ansible"]) {
      await Promise.all(lab.hosts.map((h) => exec("ssh", [...sshArgs(lab, h.mgmtAddress), "rm -rf /etc/bench"])));
      const aFirst = await ansible(lab);
      const aNoop = await ansible(lab);
      line += ` | ansible first ${aFirst.time.toFixed(2)} s, no-op ${aNoop.time.toFixed(2)} s (no-op changed=${aNoop.changed}) | ` +
        `runner/ansible: first ${(first.time / aFirst.time).toFixed(3)}, no-op ${(noop.time / aNoop.time).toFixed(3)} ` +
        `(${(aNoop.time / noop.time).toFixed(1)}x faster)`;
    }
    rows.push(line);
    console.log(line);
  } finally {
    await lab.down();
  }
}
console.log(`\nBenchmark summary (${new Date().toISOString()}):\n${rows.join("\n")}`);
