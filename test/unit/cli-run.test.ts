// The command line through a real run, off a terminal: a playbook (fixtures/cli/steps-playbook.ts, as tasks/*.ts use
// lib/cli.ts) against two hosts served by a loopback SSH server that runs commands under dash (test/helpers/local-sshd.ts).
// --check writes nothing, host keys included, and lists the keys it would pin; plain output has no glyphs or ANSI
// codes; -v shows a file write as path, size and hash with its diff; the verdict line; Ctrl-C stops cleanly (the step
// already sent finishes, the next host never starts, exit 130) and a second Ctrl-C quits at once.
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localSshd, type LocalSshd } from "../helpers/local-sshd.ts";
import { waitFor } from "../helpers/poll.ts";

const ROOT = resolve(import.meta.dirname, "..", "..");
const PLAYBOOK = join(ROOT, "test/unit/fixtures/cli/steps-playbook.ts");
const TSX = join(ROOT, "node_modules/.bin/tsx");

let sshd: LocalSshd;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "meshisp-cli-run-"));
  sshd = await localSshd(join(dir, "state"));
});
afterAll(() => sshd?.close());

/** A fresh inventory (its own known_hosts and steps directory) with two hosts on the loopback server. */
function setup(name: string) {
  const at = join(dir, name);
  mkdirSync(join(at, "steps"), { recursive: true });
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(at, "id_ed25519")]);
  const host = (n: string) => `      ${n}: { address: 127.0.0.1, port: ${sshd.port}, os: debian }\n`;
  writeFileSync(
    join(at, "hosts.yml"),
    `ssh_key: id_ed25519\nknown_hosts: known_hosts\ngroups:\n  bench:\n    hosts:\n${host("node-a")}${host("node-b")}`,
  );
  return { at, steps: join(at, "steps"), inventory: join(at, "hosts.yml"), knownHosts: join(at, "known_hosts") };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the playbook with stdout and stderr piped (not a terminal); `during` may signal it while it runs. */
function run(
  s: ReturnType<typeof setup>,
  args: string[],
  env: Record<string, string> = {},
  during?: (child: ReturnType<typeof spawn>, stderr: () => string) => Promise<void>,
): Promise<Run> {
  const start = performance.now();
  const child = spawn(TSX, [PLAYBOOK, "-i", s.inventory, ...args], {
    cwd: ROOT,
    env: { ...process.env, STEPS_DIR: s.steps, ...env, FORCE_COLOR: undefined },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const ended = new Promise<Run>((r) =>
    child.on("close", (code) => r({ code, stdout, stderr, ms: performance.now() - start })),
  );
  void during?.(child, () => stderr);
  return ended;
}

const GLYPHS = /[\u001b✔✖›❯⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏↓]/u;

describe("a playbook's command line, off a terminal", () => {
  it("--check writes nothing (no known_hosts, no file), lists the keys it would pin, and says what would change", async () => {
    const s = setup("check");
    const r = await run(s, ["--check"]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(s.knownHosts)).toBe(false);
    expect(existsSync(join(s.steps, "node-a.conf"))).toBe(false);
    expect(r.stdout).toMatch(/New host keys \(check mode: trusted for this run only, not written/);
    expect(r.stdout).toMatch(/^ {2}node-a {2}ssh-ed25519 {2}SHA256:[A-Za-z0-9+/]{43}$/m);
    expect(r.stdout).toMatch(/^ {2}node-b {2}ssh-ed25519 {2}SHA256:/m);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe(
      "check mode: 4 changes would be made on 2 of 2 hosts; nothing was changed",
    );
    expect(r.stdout + r.stderr).not.toMatch(GLYPHS);
  }, 60_000);

  it("a run with -v: plain lines, a write as path, size and hash with its diff, the verdict; the second run changes nothing", async () => {
    const s = setup("verbose");
    const first = await run(s, ["-v"]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout + first.stderr).not.toMatch(GLYPHS);
    const conf = join(s.steps, "node-a.conf");
    expect(readFileSync(conf, "utf8")).toBe("name=node-a\nsteps=2\n");
    expect(first.stdout).toContain(`Steps: node-a: CHANGED Write ${conf} (create)`);
    expect(first.stdout).toMatch(new RegExp(`\\$ write ${conf} \\(20 bytes, sha256 [0-9a-f]{8}…, mode 0644\\)`));
    expect(first.stdout).toContain("    +name=node-a");
    expect(first.stdout).not.toMatch(/printf|\\\d{3}/);
    expect(first.stdout).toMatch(/^Steps: node-b: changed=2$/m);
    expect(first.stdout.trimEnd().split("\n").at(-1)).toBe("done: 2 hosts, 2 changed (4 changes), 0 failed");
    const again = await run(s, []);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trimEnd().split("\n").at(-1)).toBe("done: 2 hosts, 0 changed (0 changes), 0 failed");
  }, 60_000);

  it("Ctrl-C during a step: the step finishes, the next host never starts, exit 130 with the sentence; a re-run finishes", async () => {
    const s = setup("interrupt");
    const r = await run(s, ["--forks", "1"], { STEP_SECONDS: "2" }, async (child) => {
      await waitFor("node-a's step to start", () => existsSync(join(s.steps, "node-a.started")), {
        timeoutMs: 30_000,
      });
      child.kill("SIGINT");
    });
    expect(r.code, r.stdout + r.stderr).toBe(130);
    expect(r.stderr).toMatch(/stopping: no host starts anything new/);
    expect(r.stderr.trimEnd().split("\n").at(-1)).toBe("interrupted; run the same command again to finish");
    expect(r.stderr).not.toMatch(/internal error|at .*\.ts:\d+/);
    // The step already sent ran to its end; node-b was never started.
    expect(existsSync(join(s.steps, "node-a.done"))).toBe(true);
    expect(existsSync(join(s.steps, "node-b.started"))).toBe(false);
    expect(r.stdout).toMatch(/^interrupted: 1 host ran, 2 changes made; the rest was not started$/m);
    const again = await run(s, ["--forks", "1"]);
    expect(again.code, again.stderr).toBe(0);
    expect(existsSync(join(s.steps, "node-b.done"))).toBe(true);
    expect(again.stdout.trimEnd().split("\n").at(-1)).toBe("done: 2 hosts, 1 changed (2 changes), 0 failed");
  }, 90_000);

  it("a second Ctrl-C quits at once, without waiting for the step", async () => {
    const s = setup("twice");
    let signalled = 0;
    const r = await run(s, ["--forks", "1"], { STEP_SECONDS: "20" }, async (child, stderr) => {
      await waitFor("node-a's step to start", () => existsSync(join(s.steps, "node-a.started")), {
        timeoutMs: 30_000,
      });
      child.kill("SIGINT");
      await waitFor("the first Ctrl-C to be taken", () => stderr().includes("stopping:"));
      signalled = performance.now();
      child.kill("SIGINT");
    });
    const quitIn = performance.now() - signalled;
    expect(r.code).toBe(130);
    // The step had 20 s to go: quitting did not wait for it.
    expect(quitIn).toBeLessThan(5_000);
    expect(r.stderr.trimEnd().split("\n").at(-1)).toBe("interrupted; run the same command again to finish");
    expect(existsSync(join(s.steps, "node-a.done"))).toBe(false);
  }, 90_000);
});
