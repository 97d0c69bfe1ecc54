// A re-run of an enrollment with other answers (tasks/enroll/answers.ts): what differs said in plain words, and the new
// answers written into the host's own vars in the inventory (comments and the rest kept), which the router, the hub and
// the card then take.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadInventory } from "../../lib/inventory/load.ts";
import { changedAnswers, describeChanges, saveAnswers, UPLINK_ANSWERS } from "../../tasks/enroll/answers.ts";

const INVENTORY = `# The pilot's inventory
groups:
  hub:
    hosts:
      hub: { address: 10.42.0.1, mesh_ip: 10.0.4.1, os: debian }
  uplinks:
    vars:
      bandwidth: { up_mbit: 5, down_mbit: 20 }   # the usual donation
    hosts:
      uplink-1:
        os: openwrt
        mesh_ip: 10.0.4.65
        vars:
          volunteer: { name: Ada, contact: ada@example.org, location: kitchen shelf }
      uplink-2: { os: openwrt, mesh_ip: 10.0.4.66 }
`;
const inventoryFile = () => {
  const file = join(mkdtempSync(join(tmpdir(), "meshisp-answers-")), "hosts.yml");
  writeFileSync(file, INVENTORY);
  return file;
};
const varsOf = (file: string, name: string) => loadInventory(file).hosts.find((h) => h.name === name)!.vars;

describe("a re-run's answers against the inventory", () => {
  it("the same answers are no change; a location left out keeps the one there", () => {
    const vars = varsOf(inventoryFile(), "uplink-1");
    const same = { volunteer: { name: "Ada", contact: "ada@example.org" }, bandwidth: { up_mbit: 5, down_mbit: 20 } };
    expect(changedAnswers(vars, same, UPLINK_ANSWERS)).toEqual([]);
  });

  it("says what differs in plain words (group vars count: that is what the router has)", () => {
    const vars = varsOf(inventoryFile(), "uplink-1");
    const changes = changedAnswers(
      vars,
      { volunteer: { name: "Ada Lovelace", contact: "ada@example.org" }, bandwidth: { up_mbit: 8, down_mbit: 20 } },
      UPLINK_ANSWERS,
    );
    expect(describeChanges(changes)).toBe(
      `volunteer's name "Ada" -> "Ada Lovelace"; donated upload 5 Mbit/s -> 8 Mbit/s`,
    );
  });

  it("writes them into the host's own vars, comments and the other hosts kept; the next comparison finds none", async () => {
    const file = inventoryFile();
    const answers = {
      volunteer: { name: "Ada Lovelace", contact: "+1 217 555 0199" },
      bandwidth: { up_mbit: 8, down_mbit: 30 },
    };
    await saveAnswers(file, "uplink-1", changedAnswers(varsOf(file, "uplink-1"), answers, UPLINK_ANSWERS));
    const vars = varsOf(file, "uplink-1");
    expect(vars.volunteer).toEqual({ name: "Ada Lovelace", contact: "+1 217 555 0199", location: "kitchen shelf" });
    expect(vars.bandwidth).toEqual({ up_mbit: 8, down_mbit: 30 });
    expect(varsOf(file, "uplink-2").bandwidth).toEqual({ up_mbit: 5, down_mbit: 20 });
    expect(readFileSync(file, "utf8")).toContain("# the usual donation");
    expect(changedAnswers(vars, answers, UPLINK_ANSWERS)).toEqual([]);
    // A host written in flow style gets vars too.
    await saveAnswers(file, "uplink-2", changedAnswers(varsOf(file, "uplink-2"), answers, UPLINK_ANSWERS));
    expect(varsOf(file, "uplink-2")).toMatchObject(answers);
  });
});
