// The benchmark's floor: `ssh true` to every lab host at once (OpenSSH's client, one process per host), and helpers.
import { spawn } from "node:child_process";
import type { InternetLab } from "../lab/index.ts";

export function exec(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, cwd });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ code: code ?? 255, out }));
  });
}

const sshArgs = (lab: InternetLab, address: string) => [
  "-i",
  lab.sshKeyPath,
  "-o",
  "BatchMode=yes",
  "-o",
  "StrictHostKeyChecking=no",
  "-o",
  "UserKnownHostsFile=/dev/null",
  "-o",
  "LogLevel=ERROR",
  `root@${address}`,
];

/** Seconds for N parallel `ssh true`; throws if any host fails (the floor must be real). */
export async function sshFloor(lab: InternetLab): Promise<number> {
  const start = process.hrtime.bigint();
  const results = await Promise.all(lab.hosts.map((h) => exec("ssh", [...sshArgs(lab, h.mgmtAddress), "true"])));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const bad = results.filter((r) => r.code !== 0);
  if (bad.length) throw new Error(`ssh true failed on ${bad.length} of ${lab.hosts.length} hosts: ${bad[0].out}`);
  return seconds;
}

/** Runs `command` on every host over OpenSSH (to reset the bench's files between tools). */
export async function sshAll(lab: InternetLab, command: string): Promise<void> {
  const results = await Promise.all(lab.hosts.map((h) => exec("ssh", [...sshArgs(lab, h.mgmtAddress), command])));
  const bad = results.filter((r) => r.code !== 0);
  if (bad.length) throw new Error(`ssh ${command} failed on ${bad.length} hosts: ${bad[0].out}`);
}
