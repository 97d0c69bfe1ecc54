// The enrollment's questions without a terminal of their own (a scripted one): a flag wins, a bad answer is asked
// again with its reason, the last run's answers are offered and kept at once (atomically, beside the inventory),
// "-" leaves an optional one out; off a terminal a missing answer names its flag. The pty tests drive the real one.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../../lib/errors.ts";
import { KeptAnswers } from "../../tasks/enroll/kept-answers.ts";
import { Questions, type Asker } from "../../tasks/enroll/prompt.ts";
import { UPLINK_FIELDS as F, UPLINK_HINT } from "../../tasks/enroll/uplink-flags.ts";
import { tempDir } from "./fixtures/pki/helpers.ts";

/** A terminal that answers from a script and records what it was asked and told. */
function scripted(answers: string[]): Asker & { shown: string[] } {
  const shown: string[] = [];
  return {
    shown,
    question: async (prompt) => {
      shown.push(prompt);
      const next = answers.shift();
      if (next === undefined) throw new Error(`no scripted answer for ${prompt}`);
      return next;
    },
    secret: async () => "secret",
    say: (line) => void shown.push(line),
  };
}

const inventoryFile = () => join(tempDir("enroll-questions"), "hosts.yml");

describe("Questions", () => {
  it("asks until the answer is right, saying why, and keeps each right one at once", async () => {
    const inv = inventoryFile();
    const term = scripted(["five", "0", "2.5 Mbit/s"]);
    const q = new Questions({}, term, KeptAnswers.load(inv, "enroll-uplink"), UPLINK_HINT);
    expect(await q.need(F["up-mbit"])).toBe(2.5);
    expect(term.shown).toEqual([
      "Donated upload, Mbit/s [5]: ",
      '  "five" is not a number of Mbit/s: expected a number like 20 (0.1 to 10000)',
      "Donated upload, Mbit/s [5]: ",
      "  0 Mbit/s is outside what the mesh takes: expected a number from 0.1 to 10000, like 20",
      "Donated upload, Mbit/s [5]: ",
    ]);
    expect(JSON.parse(readFileSync(`${inv}.enroll-uplink-answers.json`, "utf8")).answers).toEqual({
      "up-mbit": "2.5 Mbit/s",
    });
  });

  it("an empty answer takes the offered one: the last run's before the built-in default", async () => {
    const inv = inventoryFile();
    KeptAnswers.load(inv, "enroll-uplink").set("down-mbit", "12");
    const term = scripted(["", "", ""]);
    const q = new Questions({}, term, KeptAnswers.load(inv, "enroll-uplink"), UPLINK_HINT);
    expect(await q.need(F["down-mbit"])).toBe(12);
    expect(await q.need(F["up-mbit"])).toBe(5);
    expect(await q.need(F.address)).toBe("192.168.8.1");
    expect(term.shown[0]).toMatch(/^The answers of the run of .* UTC that stopped are offered as defaults/);
    expect(term.shown.slice(1)).toEqual([
      "Donated download, Mbit/s [12]: ",
      "Donated upload, Mbit/s [5]: ",
      "Router address [192.168.8.1]: ",
    ]);
  });

  it("an optional answer: empty is none; a kept one is offered, and '-' leaves it out (and forgets it)", async () => {
    const inv = inventoryFile();
    const none = new Questions({}, scripted([""]), KeptAnswers.load(inv, "enroll-uplink"), UPLINK_HINT);
    expect(await none.answer(F.location)).toBeUndefined();
    KeptAnswers.load(inv, "enroll-uplink").set("location", "back room");
    const term = scripted(["-"]);
    const q = new Questions({}, term, KeptAnswers.load(inv, "enroll-uplink"), UPLINK_HINT);
    expect(await q.answer(F.location)).toBeUndefined();
    expect(term.shown[1]).toBe("Where is the router (optional) [back room; - for none]: ");
    expect(JSON.parse(readFileSync(`${inv}.enroll-uplink-answers.json`, "utf8")).answers).toEqual({});
  });

  it("a flag is not asked; a bad one is refused naming the flag", async () => {
    const term = scripted([]);
    const q = new Questions({ volunteer: " Ada ", "up-mbit": "fast" }, term, undefined, UPLINK_HINT);
    expect(await q.need(F.volunteer)).toBe("Ada");
    await expect(q.need(F["up-mbit"])).rejects.toThrow(/^--up-mbit: "fast" is not a number of Mbit\/s/);
    expect(term.shown).toEqual([]);
  });

  it("off a terminal: a default is taken, an optional answer left out, a required one is an error naming its flag", async () => {
    const q = new Questions({}, undefined, undefined, UPLINK_HINT);
    expect(await q.need(F.address)).toBe("192.168.8.1");
    expect(await q.answer(F.location)).toBeUndefined();
    const err = await q.need(F.volunteer).catch((e: Error) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe("--volunteer is needed (no terminal to ask on)");
    await expect(q.secret("Router root password: ", "NO_SUCH_VARIABLE_HD", "--password")).rejects.toThrow(
      "--password needs a terminal to ask on, or NO_SUCH_VARIABLE_HD",
    );
  });
});

describe("KeptAnswers", () => {
  it("a damaged file or another command's offers nothing; forget removes it; note says where they are", () => {
    const inv = inventoryFile();
    const file = `${inv}.enroll-uplink-answers.json`;
    writeFileSync(file, "{ not json");
    expect(KeptAnswers.load(inv, "enroll-uplink").offered).toEqual({});
    writeFileSync(file, JSON.stringify({ command: "enroll-client", saved: "", answers: { member: "x" } }));
    expect(KeptAnswers.load(inv, "enroll-uplink").offered).toEqual({});
    const kept = KeptAnswers.load(inv, "enroll-uplink");
    expect(kept.note()).toBeUndefined();
    kept.set("volunteer", "Ada");
    expect(kept.note()).toContain(`kept in ${file} (no password or passphrase)`);
    // A day later they are not offered any more (another home, another volunteer).
    expect(KeptAnswers.load(inv, "enroll-uplink").offered).toEqual({ volunteer: "Ada" });
    expect(KeptAnswers.load(inv, "enroll-uplink", Date.now() + 25 * 3_600_000).offered).toEqual({});
    kept.forget();
    expect(existsSync(file)).toBe(false);
    expect(kept.note()).toBeUndefined();
  });
});
