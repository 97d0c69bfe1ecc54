// An installer's interactive enrollment in a real terminal (a pty), on the pilot's network: tasks/enroll-uplink.ts run
// in the installer's laptop namespace, plugged into a factory-fresh router's LAN (192.168.8.1, no root password). The
// first run is stopped with Ctrl-C at the hidden new-password prompt (after the router was reached: a later step), and
// the answers typed before it are kept; the re-run offers them, Enter takes each, and it finishes: the router on the
// mesh with those answers in the inventory, its root password set, the kept answers gone.
// test/unit/enroll-terminal.test.ts has the rest (bad answers, wrong passphrase, Ctrl-C/Ctrl-D at each prompt).
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadInventory } from "../../lib/inventory/load.ts";
import { openInventoryCa } from "../../lib/pki/passphrase.ts";
import { Session } from "../../lib/runner/session.ts";
import { labUp, type Lab } from "../../scripts/lab/index.ts";
import { deployMesh } from "../../tasks/plays.ts";
import { PtyRun } from "../helpers/pty.ts";

const ROOT = resolve(import.meta.dirname, "..", "..");
const PASSPHRASE = "enroll terminal lab passphrase";
const NEW_ROOT_PASSWORD = "typed at the terminal 9";
const CA_PROMPT = "Passphrase of the mesh CA";
const NEW_PASSWORD_PROMPT = "New root password for the router (empty: leave it blank): ";
let lab: Lab<"pilot">;

const kept = () => `${lab.inventoryPath}.enroll-uplink-answers.json`;

/** tasks/enroll-uplink.ts in a terminal, where the installer runs it: the laptop's namespace. Nothing secret in its env. */
function enrollInTerminal(): PtyRun {
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: "0" };
  for (const secret of ["MESH_CA_PASSPHRASE", "ROUTER_PASSWORD", "ROUTER_NEW_PASSWORD"]) delete env[secret];
  const argv = ["node", "--import", "tsx", "tasks/enroll-uplink.ts", "-i", lab.inventoryPath];
  return PtyRun.start(["ip", "netns", "exec", lab.installer.netns, ...argv], { cwd: ROOT, env });
}

beforeAll(async () => {
  lab = await labUp({
    topology: "pilot",
    hosts: [
      { name: "hub", kind: "debian", group: "hub" },
      { name: "uplink-1", kind: "openwrt", release: "24.10", group: "uplinks", site: "home", notInInventory: true },
    ],
  });
  // The maintainer's part, in this process: the CA, and the hub deployed from the kitchen.
  process.env.MESH_CA_PASSPHRASE = PASSPHRASE;
  const ca = await openInventoryCa(loadInventory(lab.inventoryPath), { create: true });
  delete process.env.MESH_CA_PASSPHRASE;
  const session = new Session(loadInventory(lab.inventoryPath), { output: "silent", dial: lab.laptop("kitchen").dial });
  try {
    for (const r of await deployMesh(session, ca)) expect([r.failed, r.unreachable], r.error).toEqual([0, false]);
  } finally {
    await session.close();
  }
  await lab.installer.plugInto("uplink-1");
}, 600_000);
afterAll(async () => {
  await lab?.installer.unplug().catch(() => undefined);
  await lab?.down();
});

describe("an interactive enrollment in a terminal", () => {
  it("stopped with Ctrl-C at the router's new-password prompt: exit 130, the answers kept", async () => {
    const run = enrollInTerminal();
    await run.answer(CA_PROMPT, `${PASSPHRASE}\r`);
    await run.answer("Router address [192.168.8.1]: ", "\r");
    await run.answer("Volunteer's name: ", "Ada Lovelace\r");
    await run.answer("Volunteer's phone or e-mail: ", "+1 217 555 0199\r");
    await run.answer("Where is the router (optional): ", "back room\r");
    await run.answer("Donated upload, Mbit/s [5]: ", "five\r");
    await run.answer("Donated upload, Mbit/s [5]: ", "2\r", 2);
    await run.answer("Donated download, Mbit/s [20]: ", "5\r");
    // The router was reached (it has no root password): the hidden prompt, stopped there.
    await run.answer(NEW_PASSWORD_PROMPT, "half\x03");
    const code = await run.exited;
    const out = run.text;
    expect(code, out).toBe(130);
    expect(out).toContain("Connecting to 192.168.8.1...");
    expect(out).toContain("interrupted; run the same command again to finish");
    expect(out).toContain(`Your answers so far are kept in ${kept()}`);
    expect(out).not.toContain("internal error");
    expect(out).not.toContain(PASSPHRASE);
    expect(existsSync(kept())).toBe(true);
    expect(loadInventory(lab.inventoryPath).hosts.find((h) => h.group === "uplinks")).toBeUndefined();
  }, 300_000);

  it("the re-run offers the kept answers, Enter takes each, and it finishes", async () => {
    const run = enrollInTerminal();
    await run.answer(CA_PROMPT, `${PASSPHRASE}\r`);
    await run.waitFor("offered as defaults, in brackets: Enter keeps one");
    for (const prompt of [
      "Router address [192.168.8.1]: ",
      "Volunteer's name [Ada Lovelace]: ",
      "Volunteer's phone or e-mail [+1 217 555 0199]: ",
      "Where is the router (optional) [back room; - for none]: ",
      "Donated upload, Mbit/s [2]: ",
      "Donated download, Mbit/s [5]: ",
    ])
      await run.answer(prompt, "\r");
    await run.answer(NEW_PASSWORD_PROMPT, `${NEW_ROOT_PASSWORD}\r`);
    await run.answer("The same again: ", `${NEW_ROOT_PASSWORD}\r`);
    const code = await run.exited;
    const out = run.text;
    expect(code, out).toBe(0);
    expect(out).toContain("Set the router's root password (it had none).");
    expect(out).toContain("reaches the hub at 10.0.4.1 over the mesh");
    for (const secret of [PASSPHRASE, NEW_ROOT_PASSWORD]) expect(out).not.toContain(secret);
    expect(out).not.toContain("Your answers so far are kept");
    expect(existsSync(kept())).toBe(false);
    const node = loadInventory(lab.inventoryPath).hosts.find((h) => h.group === "uplinks")!;
    expect(node.vars.volunteer).toEqual({ name: "Ada Lovelace", contact: "+1 217 555 0199", location: "back room" });
    expect(node.vars.bandwidth).toEqual({ up_mbit: 2, down_mbit: 5 });
    // The card printed for the volunteer carries the same answers.
    expect(out).toMatch(/Ada Lovelace/);
    const shadow = await lab
      .host("uplink-1")
      .exec(`awk -F: '$1 == "root" { print ($2 == "" ? "blank" : "set") }' /etc/shadow`);
    expect(shadow.stdout.trim()).toBe("set");
  }, 600_000);
});
