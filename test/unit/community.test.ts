// The community documents agree with the code: the survey's fields are the enrollment's flags, and the reference
// card doc shows exactly what the enrollment prints, with every template field explained.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { renderTemplate } from "../../lib/template.ts";
import { UPLINK_FIELDS } from "../../tasks/enroll/uplink-flags.ts";

const doc = (name: string) => readFileSync(`community/${name}`, "utf8");
const between = (text: string, tag: string) => {
  const m = new RegExp(`<!-- ${tag}:begin -->\\n([\\s\\S]*?)<!-- ${tag}:end -->`).exec(text);
  if (!m) throw new Error(`no ${tag} block`);
  return m[1];
};

/** The option names tasks/enroll-uplink.ts passes to parseArgs. */
function enrollmentFlags(): string[] {
  const source = readFileSync("tasks/enroll-uplink.ts", "utf8");
  const options = /options: \{\n([\s\S]*?)\n\s*\},\n\s*strict: true/.exec(source)![1];
  return [...options.matchAll(/^\s*"?([a-z-]+)"?: \{ type:/gm)].map((m) => m[1]);
}

describe("community/site-survey-checklist.md", () => {
  it("lists exactly the enrollment's flags (besides the inventory and help), with its prompts", () => {
    const flags = enrollmentFlags();
    expect(flags).toContain("up-mbit");
    const rows = between(doc("site-survey-checklist.md"), "survey")
      .split("\n")
      .filter((l) => /^\| [^-]/.test(l))
      .slice(1);
    const surveyed = rows.map((r) => /`--([a-z-]+)`/.exec(r)?.[1]).filter(Boolean);
    expect(surveyed.sort()).toEqual(flags.filter((f) => f !== "inventory" && f !== "help").sort());
    // Every question the enrollment asks appears as a prompt in the survey (the fields say what is asked).
    const asked = Object.values(UPLINK_FIELDS).flatMap((f) => (f.question ? [[f.flag, f.question]] : []));
    expect(asked.length).toBeGreaterThanOrEqual(6);
    for (const [flag, question] of asked)
      expect(
        rows.find((r) => r.includes(`\`--${flag}\``)),
        flag,
      ).toContain(question);
  });
});

describe("community/reference-card.md", () => {
  const text = doc("reference-card.md");

  it("shows the card exactly as the enrollment prints it", () => {
    const card = renderTemplate("enroll/reference-card.hbs", {
      name: "uplink-4",
      mesh_ip: "10.0.4.68",
      volunteer: { name: "Ada Lovelace", contact: "+1 217 555 0199" },
      bandwidth: { up_mbit: 5, down_mbit: 20 },
      date: "2026-11-25",
      community: "Stone Soup Kitchen",
      support_contact: "the Stone Soup Kitchen mesh team",
    });
    expect(between(text, "card")).toBe("```\n" + card.replace(/\n?$/, "\n") + "```\n");
  });

  it("explains every field of the template, and no field the template lacks", () => {
    const template = readFileSync("templates/enroll/reference-card.hbs", "utf8");
    const fields = [...new Set([...template.matchAll(/\{\{\s*([a-z_.]+)\s*\}\}/g)].map((m) => m[1]))];
    const documented = [...between(text, "fields").matchAll(/\| `([a-z_.]+)`/g)].map((m) => m[1]);
    expect(documented.sort()).toEqual(fields.sort());
  });
});
