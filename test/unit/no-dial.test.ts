// Bad input through the real command lines: refused with exit 1 and a message (no stack), nothing written, and no host
// contacted. The CLIs run with fixtures/guard/no-socket.mjs preloaded, which exits 99 at the first TCP, UDP or DNS
// attempt; the last case shows the guard does fire when a run really dials. One case per way in (the inventory's
// YAML, its vars, groups and addresses, the key, -e, --tags, the hub, enrollment's flags); bad-input.test.ts has the breadth.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..", "..");
const GUARD = join(ROOT, "test/unit/fixtures/guard/no-socket.mjs");
const dir = mkdtempSync(join(tmpdir(), "meshisp-nodial-"));
execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "id_ed25519")]);
execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "a passphrase", "-f", join(dir, "locked")]);

// Every host at a port nothing listens on: even without the guard, no real host could be reached.
const inventory = (opts: { key?: string; body?: string; vars?: string } = {}) =>
  `ssh_key: ${opts.key ?? "id_ed25519"}\nknown_hosts: known_hosts\n${opts.vars ?? ""}groups:\n${opts.body ?? "  hub:\n    hosts:\n      hub: { address: 127.0.0.1, port: 9, os: debian }\n  uplinks:\n    hosts:\n      uplink-1: { address: 127.0.0.1, port: 9, mesh_ip: 10.0.4.65, vars: { bandwidth: { up_mbit: 5, down_mbit: 20 } } }\n"}`;

interface Case {
  name: string;
  cli: string;
  args?: string[];
  file: string | Buffer;
  expect: string[];
}

const CASES: Case[] = [
  {
    name: "misspelt variable",
    cli: "tasks/site-base.ts",
    file: inventory({ vars: "vars:\n  bandwith: { up_mbit: 5, down_mbit: 20 }\n" }),
    expect: [":4:", "did you mean 'bandwidth'?"],
  },
  {
    name: "Latin-1 inventory",
    cli: "tasks/site-base.ts",
    file: Buffer.from(inventory({ vars: 'vars:\n  base_contact: "Jos\u00e9"\n' }), "latin1"),
    expect: [":4:", "not UTF-8"],
  },
  {
    name: "address with a port",
    cli: "tasks/site-base.ts",
    file: inventory({ body: "  hub:\n    hosts:\n      hub: { address: '127.0.0.1:9' }\n" }),
    expect: [":6:", "has a port"],
  },
  {
    name: "no key at ssh_key",
    cli: "tasks/site-base.ts",
    file: inventory({ key: "nokey" }),
    expect: [":1: ssh_key", "no SSH private key"],
  },
  {
    name: "a key with a passphrase",
    cli: "tasks/site-base.ts",
    file: inventory({ key: "locked" }),
    expect: ["protected by a passphrase"],
  },
  {
    name: "-e misspelt",
    cli: "tasks/site-base.ts",
    args: ["-e", "bandwith.up_mbit=3"],
    file: inventory(),
    expect: ["-e bandwith", "did you mean 'bandwidth'?"],
  },
  {
    name: "--tags matching nothing",
    cli: "tasks/deploy-hub.ts",
    args: ["--tags", "shapng"],
    file: inventory(),
    expect: ["did you mean shaping?", "known tags"],
  },
  {
    name: "--limit naming nothing",
    cli: "tasks/site-base.ts",
    args: ["--limit", "uplnk-1"],
    file: inventory(),
    expect: ['"uplnk-1", which is neither a host nor a group'],
  },
  {
    name: "no hub",
    cli: "tasks/deploy-hub.ts",
    file: inventory({
      body: "  relays:\n    hosts:\n      relay-1: { address: 127.0.0.1, port: 9, mesh_ip: 10.0.4.33 }\n",
    }),
    expect: ["has no hub"],
  },
  {
    name: "a second hub",
    cli: "tasks/deploy-hub.ts",
    file: inventory({
      body: "  hub:\n    hosts:\n      hub: { address: 127.0.0.1, port: 9 }\n      hub-b: { address: 127.0.0.2, port: 9 }\n",
    }),
    expect: [":7:", "a second hub"],
  },
  {
    name: "enroll --port abc",
    cli: "tasks/enroll-uplink.ts",
    args: [
      "--address",
      "127.0.0.1",
      "--port",
      "abc",
      "--volunteer",
      "Ada",
      "--contact",
      "x",
      "--up-mbit",
      "5",
      "--down-mbit",
      "20",
    ],
    file: inventory(),
    expect: ["--port", "SSH port"],
  },
];

/** Runs a CLI to its end (stdin closed: nothing can wait on a prompt). */
async function runCli(c: Case, n: number) {
  const file = join(dir, `case-${n}.yml`);
  writeFileSync(file, c.file);
  // The CA passphrase is given so nothing waits on a prompt; a run that got as far as the CA would still be refused by the guard.
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--import", GUARD, join(ROOT, c.cli), "-i", file, ...(c.args ?? [])],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, MESH_CA_PASSPHRASE: "not used", FORCE_COLOR: "0" },
    },
  );
  const result = { stdout: "", stderr: "", status: null as number | null };
  child.stdout.on("data", (d: Buffer) => (result.stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (result.stderr += d.toString()));
  result.status = await new Promise<number | null>((done) => child.on("close", (code) => done(code)));
  return { file, result };
}

// Concurrent: each CLI spends most of its time starting up.
describe.concurrent("bad input never dials a host (CLIs with a socket guard)", () => {
  it.each(CASES.map((c, i) => ({ ...c, i })))(
    "$cli: $name",
    async ({ i, ...c }) => {
      const { file, result } = await runCli(c, i);
      const out = `${result.stdout}${result.stderr}`;
      expect(out).not.toContain("NO-SOCKET-GUARD");
      expect(result.status, out).toBe(1);
      expect(result.stderr).toMatch(/^error: /m);
      for (const f of c.expect) expect(out).toContain(f);
      expect(out).not.toContain("internal error");
      expect(out).not.toMatch(/\bat .*\.(ts|js):\d+/);
      expect(readFileSync(file)).toEqual(Buffer.isBuffer(c.file) ? c.file : Buffer.from(c.file));
      expect(existsSync(join(dir, "known_hosts"))).toBe(false);
    },
    90_000,
  );

  it("the guard fires when a run does dial (a good inventory)", async () => {
    const { result } = await runCli({ name: "good", cli: "tasks/site-base.ts", file: inventory(), expect: [] }, 99);
    expect(result.status).toBe(99);
    expect(result.stderr).toContain("NO-SOCKET-GUARD: tried to open a TCP connection to 127.0.0.1:9");
  }, 90_000);
});
