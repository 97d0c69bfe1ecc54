// Startup: the built launcher (scripts/build.ts) answers --help and refuses a bad flag from what the command itself
// says it takes (describeForBuild in lib/cli.ts): the two must never drift apart.
import { execFileSync, spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..", "..");
const TSX = join(ROOT, "node_modules/.bin/tsx");

describe("a playbook describes itself for the build", () => {
  it("its flags and exactly the text --help prints", () => {
    const described = JSON.parse(
      execFileSync(TSX, ["tasks/site-base.ts"], {
        cwd: ROOT,
        env: { ...process.env, MESHISP_DESCRIBE: "1" },
      }).toString(),
    );
    const help = execFileSync(TSX, ["tasks/site-base.ts", "--help"], { cwd: ROOT }).toString();
    expect(`${described.help}\n`).toBe(help);
    expect(described.command).toBe("npx tsx tasks/site-base.ts");
    expect(described.options).toMatchObject({ check: { type: "boolean", short: "C" }, tags: { type: "string" } });
    // The launcher's refusal is built from the same parts: parseArgs's message and described.command's hint.
    const bad = spawnSync(TSX, ["tasks/site-base.ts", "--bogus"], { cwd: ROOT, encoding: "utf8" });
    expect([bad.status, bad.stderr]).toEqual([
      1,
      `error: Unknown option '--bogus'\nhint: run ${described.command} --help\n`,
    ]);
  }, 60_000);
});
