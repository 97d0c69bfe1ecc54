// The interactive enrollment in a real terminal (a pty), up to the dial: the router's "address" is a loopback port that
// refuses, so no lab is needed. The CA and its passphrase come first (a wrong one asked again), then each question,
// asked again with the reason on a bad answer and never naming a flag; answers are kept when the run stops (here: the
// router unreachable, or Ctrl-C) and offered on the re-run; Ctrl-C and Ctrl-D at any prompt, hidden ones included, are
// a clean stop (exit 130, one sentence, the terminal's echo back). test/lab/enroll-terminal.test.ts finishes one.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CaStore } from "../../lib/pki/ca-store.ts";
import { PtyRun } from "../helpers/pty.ts";
import { CHEAP_ARGON2, tempDir } from "./fixtures/pki/helpers.ts";

const ROOT = resolve(import.meta.dirname, "..", "..");
const PASS = "terminal test CA passphrase";
const WRONG = "not the passphrase at all";
const PROMPT = "Passphrase of the mesh CA";
const ROUTER_PASSWORD = "router pw typed 42";
const FLAGS = /--(address|volunteer|contact|location|up-mbit|down-mbit|member)\b/;

let dir: string;
let inventory: string;
/** A loopback port nothing listens on: the dial is refused at once. */
let refusingPort: number;

beforeAll(async () => {
  dir = tempDir("enroll-terminal");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "id_ed25519")]);
  inventory = join(dir, "hosts.yml");
  writeFileSync(
    inventory,
    "ssh_key: id_ed25519\nknown_hosts: known_hosts\ngroups:\n  hub:\n    hosts:\n      hub: { address: 127.0.0.1, port: 9, os: debian }\n",
  );
  await new CaStore(join(dir, "pki")).create({ name: "Terminal CA", passphrase: PASS, argon2: CHEAP_ARGON2 });
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  refusingPort = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
}, 60_000);

/**
 * The command in a terminal, as `sh -c 'cmd; echo exit=$?; stty -a'`: after it ends, the terminal's own settings show
 * whether it was left without echo. No MESH_CA_PASSPHRASE: the passphrase is typed.
 */
function enroll(command: "enroll-uplink" | "enroll-client", args: string[], env: NodeJS.ProcessEnv = {}): PtyRun {
  const env0: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: "0", ...env };
  delete env0.MESH_CA_PASSPHRASE;
  delete env0.ROUTER_PASSWORD;
  const argv = ["node", "--import", "tsx", `tasks/${command}.ts`, "-i", inventory, "--port", String(refusingPort)];
  const quoted = [...argv, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  // Ctrl-C in cooked mode is SIGINT to the terminal's whole foreground group: the shell traps it to live on and say
  // the command's code (a trapped signal is back to its default in the command).
  return PtyRun.start(["sh", "-c", `trap 'true' INT; ${quoted}; echo "exit=$?"; stty -a`], { cwd: ROOT, env: env0 });
}

/** The command's exit code (from the shell's echo), and the terminal's settings after it. */
async function ended(run: PtyRun): Promise<{ code: number; echo: boolean }> {
  await run.waitFor(/exit=\d+/);
  expect(await run.exited).toBe(0);
  const code = Number(/exit=(\d+)/.exec(run.text)![1]);
  const stty = run.text.slice(run.text.indexOf("exit="));
  return { code, echo: /(^|\s)echo(\s|$)/m.test(stty) && /(^|\s)icanon(\s|$)/m.test(stty) };
}

const kept = (command: string) => `${inventory}.${command}-answers.json`;
const keptAnswers = (command: string) => JSON.parse(readFileSync(kept(command), "utf8")).answers;

describe("enroll-uplink in a terminal", () => {
  it("asks the CA passphrase first (a wrong one again), re-asks a bad answer with its reason, keeps the answers when the router cannot be reached", async () => {
    const run = enroll("enroll-uplink", ["--password"]);
    // Before any question about the router: the CA's passphrase, typed wrong once.
    await run.answer(PROMPT, `${WRONG}\r`);
    await run.waitFor("wrong passphrase for the CA key");
    expect(run.text).toContain("type it again (2 more tries)");
    expect(run.text).not.toContain("Router address");
    await run.answer(PROMPT, `${PASS}\r`, 2);
    await run.answer("Router address [192.168.8.1]: ", "127.0.0.1\r");
    // An empty name: asked again, saying why.
    await run.answer("Volunteer's name: ", "\r");
    await run.waitFor("The volunteer's name is required: it cannot be empty");
    await run.answer("Volunteer's name: ", "Ada Lovelace\r", 2);
    await run.answer("Volunteer's phone or e-mail: ", "+1 217 555 0199\r");
    await run.answer("Where is the router (optional): ", "\r");
    // "five" for Mbit/s: asked again with the reason, and the answers so far stay.
    await run.answer("Donated upload, Mbit/s [5]: ", "five\r");
    await run.waitFor('"five" is not a number of Mbit/s: expected a number like 20');
    await run.answer("Donated upload, Mbit/s [5]: ", "3\r", 2);
    await run.answer("Donated download, Mbit/s [20]: ", "\r");
    await run.answer("Router root password: ", `${ROUTER_PASSWORD}\r`);
    const { code, echo } = await ended(run);
    const out = run.text;
    expect(code, out).toBe(1);
    expect(out).toMatch(/error: cannot reach the router/);
    expect(out).toContain(`Your answers so far are kept in ${kept("enroll-uplink")}`);
    expect(out).not.toMatch(FLAGS);
    expect(out).not.toContain("internal error");
    // Secrets typed are never shown, nor kept.
    for (const secret of [PASS, WRONG, ROUTER_PASSWORD]) expect(out).not.toContain(secret);
    expect(echo, out).toBe(true);
    expect(keptAnswers("enroll-uplink")).toEqual({
      address: "127.0.0.1",
      volunteer: "Ada Lovelace",
      contact: "+1 217 555 0199",
      "up-mbit": "3",
      "down-mbit": "20",
    });
    const file = readFileSync(kept("enroll-uplink"), "utf8");
    for (const secret of [PASS, WRONG, ROUTER_PASSWORD]) expect(file).not.toContain(secret);
    expect(statSync(kept("enroll-uplink")).mode & 0o777).toBe(0o600);
  }, 120_000);

  it("the re-run offers the kept answers; Ctrl-C at a question is a clean stop (exit 130) that keeps them", async () => {
    expect(existsSync(kept("enroll-uplink"))).toBe(true);
    const run = enroll("enroll-uplink", []);
    await run.answer(PROMPT, `${PASS}\r`);
    await run.waitFor("offered as defaults, in brackets: Enter keeps one");
    await run.answer("Router address [127.0.0.1]: ", "\r");
    await run.answer("Volunteer's name [Ada Lovelace]: ", "\r");
    // A changed answer is kept too.
    await run.answer("Volunteer's phone or e-mail [+1 217 555 0199]: ", "ada@example.org\r");
    await run.answer("Where is the router (optional): ", "\x03");
    const { code, echo } = await ended(run);
    const out = run.text;
    expect(code, out).toBe(130);
    expect(out).toContain("interrupted; run the same command again to finish");
    expect(out).toContain("Your answers so far are kept in");
    expect(out).not.toContain("internal error");
    expect(out).not.toMatch(/\bat .*\.(ts|js):\d+/);
    expect(echo, out).toBe(true);
    expect(keptAnswers("enroll-uplink")).toMatchObject({ volunteer: "Ada Lovelace", contact: "ada@example.org" });
  }, 120_000);

  it("a re-run taking every kept answer goes on to the dial with them", async () => {
    const run = enroll("enroll-uplink", []);
    await run.answer(PROMPT, `${PASS}\r`);
    for (const prompt of [
      "Router address [127.0.0.1]: ",
      "Volunteer's name [Ada Lovelace]: ",
      "Volunteer's phone or e-mail [ada@example.org]: ",
      "Where is the router (optional): ",
      "Donated upload, Mbit/s [3]: ",
      "Donated download, Mbit/s [20]: ",
    ])
      await run.answer(prompt, "\r");
    const { code } = await ended(run);
    expect(code, run.text).toBe(1);
    expect(run.text).toContain("Connecting to 127.0.0.1...");
    expect(run.text).toMatch(/error: cannot reach the router/);
  }, 120_000);

  it("Ctrl-C while it runs (the router accepted TCP and says nothing): exit 130, the same sentence, answers kept", async () => {
    // A router that never finishes the SSH handshake: the run waits there, in the terminal's cooked mode (SIGINT).
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const port = String((silent.address() as { port: number }).port);
      const answers = ["--address", "127.0.0.1", "--volunteer", "Ada", "--contact", "ada@example.org"];
      const run = enroll("enroll-uplink", [...answers, "--up-mbit", "3", "--down-mbit", "20", "--port", port]);
      await run.answer(PROMPT, `${PASS}\r`);
      await run.answer("Where is the router (optional)", "\r");
      await run.answer("Connecting to 127.0.0.1...", "\x03");
      const { code, echo } = await ended(run);
      expect(code, run.text).toBe(130);
      expect(run.text).toContain("interrupted; run the same command again to finish");
      expect(run.text).toContain("Your answers so far are kept in");
      expect(run.text).not.toContain("internal error");
      expect(echo).toBe(true);
    } finally {
      silent.close();
    }
  }, 120_000);

  it.each([
    { key: "Ctrl-C", keys: "\x03" },
    { key: "Ctrl-D", keys: "\x04" },
  ])(
    "$key at the hidden passphrase prompt: exit 130, the terminal's echo back on",
    async ({ keys }) => {
      const run = enroll("enroll-uplink", []);
      await run.answer(PROMPT, `half typed${keys === "\x04" ? "\x7f".repeat(10) : ""}${keys}`);
      const { code, echo } = await ended(run);
      expect(code, run.text).toBe(130);
      expect(run.text).toContain("interrupted; run the same command again to finish");
      expect(run.text).not.toContain("internal error");
      expect(echo, run.text).toBe(true);
    },
    120_000,
  );

  it("three wrong passphrases: refused (exit 1), before any question", async () => {
    const run = enroll("enroll-uplink", []);
    for (let n = 1; n <= 3; n++) await run.answer(PROMPT, `${WRONG} ${n}\r`, n);
    const { code } = await ended(run);
    expect(code, run.text).toBe(1);
    expect(run.text).toContain("type it again (1 more try)");
    expect(run.text).toMatch(/error: wrong passphrase for the CA key/);
    expect(run.text).not.toContain("Router address");
  }, 120_000);
});

describe("enroll-client in a terminal", () => {
  it("re-asks a bad address with its reason; Ctrl-D at a question is a clean stop", async () => {
    const run = enroll("enroll-client", []);
    await run.answer(PROMPT, `${PASS}\r`);
    await run.answer("The machine's address on its LAN: ", "192.168.1.300\r");
    await run.waitFor(`"192.168.1.300" is not the machine's address on its LAN`);
    await run.answer("The machine's address on its LAN: ", "127.0.0.1\r", 2);
    await run.answer("Member's name: ", "\x04");
    const { code, echo } = await ended(run);
    expect(code, run.text).toBe(130);
    expect(run.text).toContain("interrupted; run the same command again to finish");
    expect(run.text).not.toMatch(FLAGS);
    expect(echo).toBe(true);
    expect(keptAnswers("enroll-client")).toEqual({ address: "127.0.0.1" });
  }, 120_000);
});

describe("off a terminal", () => {
  it("a missing answer is an error naming its flag (exit 1), nothing asked", () => {
    let status = 0;
    let stderr = "";
    try {
      execFileSync(
        process.execPath,
        ["--import", "tsx", "tasks/enroll-uplink.ts", "-i", inventory, "--address", "127.0.0.1"],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, MESH_CA_PASSPHRASE: PASS } },
      );
    } catch (err) {
      ({ status, stderr } = err as { status: number; stderr: string });
    }
    expect(status).toBe(1);
    expect(String(stderr)).toContain("error: --volunteer is needed (no terminal to ask on)");
  }, 60_000);
});
