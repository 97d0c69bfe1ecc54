// Benchmark: this runner, Ansible (Debian's ansible-core 2.14) and Ansible with Debian's ansible-mitogen strategy,
// against the floor (N parallel `ssh true`), on the same N debian lab hosts, side by side in one run. Every tool must
// reach every host: one unreachable or failed host stops the bench with its error (no figure from a partial run);
// only an Ansible run that lost hosts to its own connections is run once more, from the same start, and the table says so.
// Usage: npx tsx scripts/bench.ts [--sizes 10,50,200] [--no-ansible] [--ansible-first-upto 50]
// Above --ansible-first-upto hosts, Ansible's first converge is not timed (it takes most of an hour at 200 hosts on
// 2 cores): Ansible runs over the files the runner wrote, which are byte-identical to its own templates', so its
// first run is already its no-op; if it did change something, that run counts as its first and it runs once more.
// Measured 2026-12-02 at load 27-40 (other labs running on 2 cores): N=10 floor 2.56 s, runner no-op 4.68 s (1.83x),
// Ansible 67.5 s (14.4x slower), Mitogen 63.9 s (13.7x), 113 MB; N=200 (--no-ansible) floor 30.1 s, no-op 61.9 s
// (2.06x), 0 unreachable, 146 MB: the no-op's connections waited in the gate of 16 (queued p50 20 s, p95 47 s).
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { exec, sshAll, sshFloor } from "./bench/floor.ts";
import { labUp, type InternetLab } from "./lab/index.ts";
import { numberFlag, parseFlags, type NumberSpec } from "./test-common/flags.ts";
import { reportError } from "../lib/cli.ts";
import { UserError } from "../lib/errors.ts";

const here = dirname(fileURLToPath(import.meta.url));
const usage = "usage: npx tsx scripts/bench.ts [--sizes 10,50,200] [--no-ansible] [--ansible-first-upto 50]";
const hosts = (min: number): NumberSpec => ({ unit: "hosts", min, max: 1000, integer: true });
let values: Record<string, string | boolean | undefined>;
let sizes: number[];
let ansibleFirstUpTo: number;
try {
  values = parseFlags(
    process.argv.slice(2),
    { sizes: { type: "string" }, "no-ansible": { type: "boolean" }, "ansible-first-upto": { type: "string" } },
    usage,
  );
  sizes = String(values.sizes ?? "10,50,200")
    .split(",")
    .map((n) => numberFlag("--sizes", n, hosts(1), 0, usage));
  ansibleFirstUpTo = numberFlag(
    "--ansible-first-upto",
    values["ansible-first-upto"] as string | undefined,
    hosts(0),
    50,
    usage,
  );
} catch (err) {
  if (err instanceof UserError) process.exit(reportError(err));
  throw err;
}

interface OursRun {
  seconds: number;
  /** The child process from spawn to exit: Node and tsx starting, the inventory loaded, the run. */
  processSeconds: number;
  maxRssMb: number;
  /** The runner's own CPU over the run: far below `seconds`, the time goes to the hosts (sshd, the probes' processes). */
  cpuSeconds: number;
  hosts: number;
  changed: number;
  failed: number;
  unreachable: number;
  firstError?: string;
  roundTrips: number;
  retries: number;
  queuedMs: Phase;
  tcpMs: Phase;
  kexMs: Phase;
  loginMs: Phase;
}
type Phase = { p50: number; p95: number; max: number };

/** The runner in its own process (scripts/bench/run-ours.ts), so its maxRSS is its own; fails on any bad host. */
async function ours(lab: InternetLab, what: string): Promise<OursRun> {
  const start = process.hrtime.bigint();
  const child = spawn(join(here, "..", "node_modules", ".bin", "tsx"), [
    join(here, "bench", "run-ours.ts"),
    lab.inventoryPath,
    String(lab.hosts.length),
  ]);
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 255)));
  const processSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (code !== 0) throw new Error(`runner (${what}) exited ${code}:\n${err.slice(-2000)}`);
  const run = { ...JSON.parse(out.trim().split("\n").pop()!), processSeconds } as OursRun;
  if (run.hosts !== lab.hosts.length || run.failed || run.unreachable) {
    throw new Error(
      `runner (${what}): ${run.unreachable} unreachable, ${run.failed} failed of ${run.hosts}/${lab.hosts.length} hosts: ${run.firstError}`,
    );
  }
  return run;
}

interface AnsibleRun {
  seconds: number;
  changed: number;
  /** Hosts Ansible could not reach on a first try, run again once (the figure is the second run's). */
  retried?: string[];
}

/**
 * One ansible-playbook run of scripts/bench/ansible/bench.yml; fails unless every host's recap has unreachable=0 failed=0.
 * `fresh`: the hosts' files removed first (a first converge), on the retry too, so both attempts start alike.
 */
async function ansible(
  lab: InternetLab,
  strategy: "linear" | "mitogen_linear",
  fresh: boolean,
  retry = true,
): Promise<AnsibleRun> {
  if (fresh) await sshAll(lab, "rm -rf /etc/bench");
  const dir = join(lab.dir, `ansible-${strategy}`);
  mkdirSync(dir, { recursive: true });
  cpSync(join(here, "bench", "ansible"), dir, { recursive: true });
  writeFileSync(
    join(dir, "hosts.ini"),
    `[bench]\n${lab.hosts.map((h) => `${h.name} ansible_host=${h.mgmtAddress} ansible_user=root`).join("\n")}\n`,
  );
  // Debian's ansible-mitogen puts its strategies into ansible's own plugin directory: the name is enough.
  writeFileSync(
    join(dir, "ansible.cfg"),
    `[defaults]\nhost_key_checking = False\nforks = ${lab.hosts.length}\ninterpreter_python = /usr/bin/python3\nretry_files_enabled = False\nstrategy = ${strategy}\n` +
      `[ssh_connection]\npipelining = True\nssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes\n`,
  );
  const start = process.hrtime.bigint();
  const result = await exec(
    "ansible-playbook",
    ["-i", "hosts.ini", "--private-key", lab.sshKeyPath, "bench.yml"],
    { ANSIBLE_CONFIG: join(dir, "ansible.cfg") },
    dir,
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const recap = [...result.out.matchAll(/^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm)];
  const bad = recap.filter((m) => m[3] !== "0" || m[4] !== "0");
  const unreachable = bad.filter((m) => m[3] !== "0" && m[4] === "0").map((m) => m[1]!);
  if (retry && result.code === 4 && recap.length === lab.hosts.length && unreachable.length === bad.length) {
    // Ansible's own connection failed (seen once with Mitogen at 50 hosts, quiet machine): say so, run it once more.
    const why = result.out.split("\n").filter((l) => /UNREACHABLE/.test(l));
    console.error(`ansible (${strategy}): ${unreachable.join(", ")} unreachable; running it again:\n${why.join("\n")}`);
    const again = await ansible(lab, strategy, fresh, false);
    return { ...again, retried: unreachable };
  }
  if (result.code !== 0 || recap.length !== lab.hosts.length || bad.length) {
    throw new Error(
      `ansible-playbook (${strategy}) exited ${result.code}, ${recap.length}/${lab.hosts.length} hosts in its recap, ${bad.length} unreachable or failed:\n${result.out.slice(-3000)}`,
    );
  }
  return { seconds, changed: recap.reduce((n, m) => n + Number(m[2]), 0) };
}

const s = (x: number) => `${x.toFixed(2)} s`;
const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
const ph = (p: Phase) => `${p.p50}/${p.p95}/${p.max}`;

const rows: string[] = [];
const header =
  "N    | floor   | runner first | runner no-op (process) | no-op/floor | ansible first / no-op | mitogen first / no-op | ansible/runner | mitogen/runner | runner maxRSS | runner CPU | runner connect p50/p95/max ms: queued, tcp, kex, login; retries";
for (const n of sizes) {
  const lab = await labUp({
    hosts: Array.from({ length: n }, (_, i) => ({ name: `bench-${i + 1}`, kind: "debian" as const, group: "bench" })),
  });
  try {
    // Pin host keys first so that no tool pays for first contact inside the timing (this run must reach every host too).
    await ours(lab, "first contact");
    const floor = await sshFloor(lab);
    await sshAll(lab, "rm -rf /etc/bench");
    const first = await ours(lab, "first converge");
    const noop = await ours(lab, "no-op");
    if (noop.changed !== 0) throw new Error(`runner no-op changed ${noop.changed} (expected 0)`);
    let line = `${String(n).padEnd(4)} | ${s(floor)} | ${s(first.seconds)} | ${s(noop.seconds)} (${s(noop.processSeconds)}) | ${x(noop.seconds, floor)}`;
    const summary = `${first.maxRssMb.toFixed(0)}/${noop.maxRssMb.toFixed(0)} MB | ${s(noop.cpuSeconds)} | ${ph(noop.queuedMs)}, ${ph(noop.tcpMs)}, ${ph(noop.kexMs)}, ${ph(noop.loginMs)}; ${first.retries + noop.retries}`;
    // The runner's figures first, so that a failure in Ansible's runs does not lose them.
    console.error(`N=${n}: ${line} | ${summary}`);
    if (values["no-ansible"]) line += ` | - | - | - | - | ${summary}`;
    else {
      const tools: string[] = [];
      const ratios: string[] = [];
      for (const strategy of ["linear", "mitogen_linear"] as const) {
        let aFirst: AnsibleRun | undefined;
        let aNoop: AnsibleRun;
        if (n <= ansibleFirstUpTo) {
          aFirst = await ansible(lab, strategy, true);
          aNoop = await ansible(lab, strategy, false);
        } else {
          aNoop = await ansible(lab, strategy, false);
          if (aNoop.changed !== 0) [aFirst, aNoop] = [aNoop, await ansible(lab, strategy, false)];
        }
        if (aNoop.changed !== 0) throw new Error(`ansible (${strategy}) no-op changed ${aNoop.changed} (expected 0)`);
        const retried = [...(aFirst?.retried ?? []), ...(aNoop.retried ?? [])];
        tools.push(
          `${aFirst ? s(aFirst.seconds) : "-"} / ${s(aNoop.seconds)}${retried.length ? ` (re-run: ${retried.join(", ")} unreachable)` : ""}`,
        );
        ratios.push(`${x(aNoop.seconds, noop.seconds)}${aFirst ? ` (first ${x(aFirst.seconds, first.seconds)})` : ""}`);
      }
      line += ` | ${tools.join(" | ")} | ${ratios.join(" | ")} | ${summary}`;
    }
    rows.push(line);
    console.log(rows.length === 1 ? `${header}\n${line}` : line);
  } finally {
    await lab.down();
  }
}
console.log(
  `\nBenchmark (${new Date().toISOString()}, load ${(await exec("cat", ["/proc/loadavg"])).out.trim()}):\n${header}\n${rows.join("\n")}`,
);
console.log(
  "Ratios: no-op times; ansible/runner and mitogen/runner: how many times faster the runner is. maxRSS: first converge / no-op.",
);
