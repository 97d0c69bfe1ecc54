// The gather/apply script protocol under dash and BusyBox ash (OpenWrt's applets only): outputs and exit codes per
// probe, a script cut short runs nothing, steps stop at the first failure, handlers recorded pending before anything.
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { raw, sh } from "../../lib/command.ts";
import { defineFact } from "../../lib/facts/fact.ts";
import { STATE_DIR } from "../../lib/facts/host.ts";
import { applyScript, gatherScript } from "../../lib/runner/script.ts";
import { shells } from "../openwrt-shell.ts";
import { HOSTILE } from "../hostile.ts";

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
      const { script, parse } = applyScript([{ label: "one", commands: [sh`true`] }], [{ name: "restart x", step: { label: "handler: restart x", commands: [sh`true`] } }], ["restart y"]);
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
