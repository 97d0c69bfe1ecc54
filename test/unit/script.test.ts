// The gather/apply script protocol under dash and BusyBox ash (OpenWrt's applets only): outputs and exit codes per
// probe, a script cut short runs nothing, steps stop at the first failure, handlers recorded pending before anything;
// then, through the runner's transport, tables of hostile values, odd bytes, failures, large outputs and framing.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { raw, sh } from "../../lib/command.ts";
import { defineFact } from "../../lib/facts/fact.ts";
import { STATE_DIR } from "../../lib/facts/host.ts";
import { writeFileCommand } from "../../lib/resources/write-file.ts";
import { gather } from "../../lib/runner/gather.ts";
import { applyScript, gatherScript, SCRIPT_SHELL, type ApplyStep } from "../../lib/runner/script.ts";
import { shells } from "../openwrt-shell.ts";
import { HOSTILE } from "../hostile.ts";
import { SHELL_KINDS, shellTransport } from "../helpers/shell-transport.ts";

const dir = mkdtempSync(join(tmpdir(), "script-protocol-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** The engine's state dir, moved into the temp dir for the test. */
const moved = (text: string, state: string) => text.replaceAll(STATE_DIR, state);

for (const shell of shells()) {
  describe(shell.name, () => {
    it("gather: each probe's exact stdout and exit code, whatever it prints", () => {
      const facts = [
        ...HOSTILE.map((v, i) => defineFact(`echo:${i}`, sh`printf '%s' ${v}`, (o) => o)),
        defineFact("code", raw("echo partial; exit 7"), (o) => o),
        defineFact("stdin", raw("cat; echo done"), (o) => o),
        defineFact("stderr", raw("echo hidden >&2; echo shown"), (o) => o),
      ];
      const { script, parse } = gatherScript(facts);
      const out = parse(shell.run(script.render(), "must not be read").stdout);
      HOSTILE.forEach((v, i) => expect(out.get(`echo:${i}`)).toEqual({ stdout: v, code: 0 }));
      expect(out.get("code")).toEqual({ stdout: "partial\n", code: 7 });
      expect(out.get("stdin")).toEqual({ stdout: "done\n", code: 0 });
      expect(out.get("stderr")).toEqual({ stdout: "shown\n", code: 0 });
    });

    it("apply: stops at the first failure (a step's own `exit` too) with its output; handlers were recorded first", () => {
      const state = join(dir, `${shell.name.split(" ")[0]}-fail`);
      const marker = join(dir, `${shell.name.split(" ")[0]}-after`);
      const { script, parse } = applyScript(
        [
          { label: "one", commands: [sh`true`] },
          { label: "two", commands: [raw("echo broken; exit 3")] },
          { label: "three", commands: [sh`touch ${marker}`] },
        ],
        [{ name: "restart x", step: { label: "handler: restart x", commands: [sh`true`] } }],
        ["from phase 1"],
      );
      const outcome = parse(shell.run(moved(script.render(), state)).stdout);
      expect(outcome).toEqual({ done: 1, failed: { step: 1, code: 3, output: "broken\n" } });
      expect(existsSync(marker)).toBe(false);
      expect(readFileSync(join(state, "pending-handlers"), "utf8")).toBe("from phase 1\nrestart x\n");
    });

    it("apply: handlers run and leave the pending file; record-only ones stay in it", () => {
      const state = join(dir, `${shell.name.split(" ")[0]}-ok`);
      const { script, parse } = applyScript(
        [{ label: "one", commands: [sh`true`] }],
        [{ name: "restart x", step: { label: "handler: restart x", commands: [sh`true`] } }],
        ["restart y"],
      );
      expect(parse(shell.run(moved(script.render(), state)).stdout)).toEqual({ done: 2 });
      expect(readFileSync(join(state, "pending-handlers"), "utf8")).toBe("restart y\n");
    });

    it("a script cut short in transit runs nothing", () => {
      const marker = join(dir, `${shell.name.split(" ")[0]}-cut`);
      const { script } = applyScript([{ label: "touch", commands: [sh`touch ${marker}`] }], []);
      const text = script.render();
      // Everything but the last line (the call): the shell reads a function definition and nothing else.
      shell.run(text.slice(0, text.lastIndexOf("\n")));
      expect(existsSync(marker)).toBe(false);
      shell.run(text);
      expect(existsSync(marker)).toBe(true);
    });
  });
}

// The same protocol as the runner sends it: `sh -s` with the script on stdin, through the runner's LocalTransport, under
// dash and under BusyBox ash with only OpenWrt's applets on PATH. Tables: what a probe or a step does, what comes back.
const ODD_BYTES: { name: string; content: Buffer }[] = [
  { name: "every byte value, twice", content: Buffer.from([...Array(512).keys()].map((i) => i % 256)) },
  { name: "NULs only", content: Buffer.alloc(7) },
  { name: "a leading dash (not an option to printf)", content: Buffer.from("-n -e x\n") },
  { name: "printf's own syntax", content: Buffer.from("%s %d %% \\n \\0 \\\\") },
  { name: "CRLF and no final newline", content: Buffer.from("a\r\nb\r\nc") },
  { name: "quotes of every kind", content: Buffer.from(`'"\`$(id)'\\''`) },
  { name: "empty", content: Buffer.alloc(0) },
  {
    name: "across printf chunks (2048 bytes each), ending in a high byte",
    content: Buffer.concat([Buffer.alloc(4095, "x"), Buffer.from([0xff])]),
  },
  {
    name: "UTF-8 and invalid UTF-8",
    content: Buffer.concat([Buffer.from("ünïcødé ✓\n"), Buffer.from([0xc3, 0x28, 0xa0, 0xa1])]),
  },
];

const GATHERED: { name: string; command: string; stdout: string; code: number }[] = [
  { name: "no final newline", command: "printf abc", stdout: "abc", code: 0 },
  { name: "nothing", command: ":", stdout: "", code: 0 },
  { name: "only newlines", command: "printf '\\n\\n'", stdout: "\n\n", code: 0 },
  { name: "an exit code, with its output", command: "echo partial; exit 42", stdout: "partial\n", code: 42 },
  { name: "a command not found: 127, stderr dropped", command: "no-such-command-meshisp", stdout: "", code: 127 },
  {
    name: "lines that look like another script's framing",
    command: "printf '@@meshisp-000000000000 0\\n@@meshisp-000000000000-rc 0\\n'",
    stdout: "@@meshisp-000000000000 0\n@@meshisp-000000000000-rc 0\n",
    code: 0,
  },
  { name: "1 MiB", command: "head -c 1048576 /dev/zero | tr '\\000' a", stdout: "a".repeat(1 << 20), code: 0 },
  { name: "stdin is empty (the script itself is never read)", command: "cat; echo end", stdout: "end\n", code: 0 },
  {
    name: "a variable set by an earlier probe does not leak",
    command: 'echo "[${leak:-}]"; pwd',
    stdout: `[]\n${process.cwd()}\n`,
    code: 0,
  },
];

describe.each(SHELL_KINDS)("the protocol through the runner's transport, under %s", (kind) => {
  const transport = (name: string) => shellTransport(kind, { stateDir: join(dir, `${kind}-${name}`, "state") });
  const runApply = async (steps: ApplyStep[], handlers: { name: string; step: ApplyStep }[] = [], state = "apply") => {
    const { script, parse } = applyScript(steps, handlers);
    const result = await transport(state).run(SCRIPT_SHELL, { stdin: script.render() });
    return { outcome: parse(result.stdout), result };
  };

  it("gather: each probe's exact stdout and exit code, in one round trip, probes isolated from each other", async () => {
    // The first probe sets a variable and leaves the directory: each probe runs in its own subshell, from the script's directory.
    const facts = [
      defineFact("leaker", raw("leak=yes; cd /tmp; exit 9"), (o) => o),
      ...GATHERED.map((c, i) => defineFact(`g:${i}`, raw(c.command), (o) => o)),
    ];
    const t = transport("gather");
    const read = await gather(t, facts);
    expect(t.roundTrips).toBe(1);
    expect(read(facts[0])).toEqual({ stdout: "", code: 9 });
    GATHERED.forEach((c, i) => expect(read(facts[i + 1]), c.name).toEqual({ stdout: c.stdout, code: c.code }));
  });

  it("gather: a fact never gathered is refused when read; a script that stops early is a TransportError", async () => {
    const t = transport("gather-cut");
    const read = await gather(t, [defineFact("a", raw("echo a"), (o) => o.stdout)]);
    expect(() => read(defineFact("b", raw("echo b"), (o) => o.stdout))).toThrow(/never gathered/);
    // A probe that kills the script's shell ($$ in a subshell is the script's own shell), as a lost connection would.
    await expect(
      gather(t, [defineFact("x", raw("kill -9 $$"), (o) => o), defineFact("y", raw("echo y"), (o) => o)]),
    ).rejects.toThrow(/cut short/);
  });

  it("apply: hostile values as arguments reach the command exactly", async () => {
    const out = join(dir, `${kind}-hostile`);
    mkdirSync(out, { recursive: true });
    const { outcome } = await runApply(
      HOSTILE.map((v, i) => ({ label: `value ${i}`, commands: [sh`printf '%s' ${v} > ${join(out, String(i))}`] })),
    );
    expect(outcome).toEqual({ done: HOSTILE.length });
    HOSTILE.forEach((v, i) => expect(readFileSync(join(out, String(i)), "utf8"), JSON.stringify(v)).toBe(v));
  });

  it.each(ODD_BYTES)("apply: a file write keeps its bytes: $name", async ({ content }) => {
    const target = join(dir, `${kind}-odd name 'q' $x`, "file");
    mkdirSync(dirname(target), { recursive: true });
    const { outcome } = await runApply([
      { label: "write", commands: [writeFileCommand({ path: target, content, mode: "0640" })] },
    ]);
    expect(outcome).toEqual({ done: 1 });
    expect(readFileSync(target).equals(content)).toBe(true);
    expect(statSync(target).mode & 0o777).toBe(0o640);
  });

  const FAILING: { name: string; command: string; code: number; output: string }[] = [
    {
      name: "exit code, stdout and stderr",
      command: "echo out; echo err >&2; exit 42",
      code: 42,
      output: "out\nerr\n",
    },
    { name: "a command not found", command: "no-such-command-meshisp 2>/dev/null", code: 127, output: "" },
    { name: "the step's own exit", command: "exit 3", code: 3, output: "" },
    {
      name: "256 KiB of output, all kept",
      command: "head -c 262144 /dev/zero | tr '\\000' e; exit 1",
      code: 1,
      output: "e".repeat(262144),
    },
    {
      name: "output that looks like another script's framing",
      command: "echo '@@meshisp-000000000000 ok 5'; exit 4",
      code: 4,
      output: "@@meshisp-000000000000 ok 5\n",
    },
  ];
  it.each(FAILING)("apply: a failing step: $name", async ({ command, code, output }) => {
    const after = join(dir, `${kind}-after-${code}`);
    const { outcome } = await runApply([
      {
        label: "loud success",
        commands: [raw("head -c 100000 /dev/zero | tr '\\000' s; echo '@@meshisp-000000000000 fail 0 1'")],
      },
      { label: "fails", commands: [raw(command)] },
      { label: "never", commands: [sh`touch ${after}`] },
    ]);
    expect(outcome).toEqual({ done: 1, failed: { step: 1, code, output } });
    expect(existsSync(after)).toBe(false);
  });
});
