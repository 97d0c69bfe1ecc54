// Which cuts a failover test makes: the phases an inventory allows, --cuts checked against them, the uplinks read
// from an inventory (radio_device means a radio link to cut), and the live radio cut run under BusyBox ash with stub
// nft and sleep: it returns at once, drops the radio, and lifts the drop by itself.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { UserError } from "../../lib/errors.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import type { CutKind, UplinkInfo } from "../../scripts/failover/access.ts";
import { radioCutScript } from "../../scripts/failover/live-access.ts";
import { phasesOf } from "../../scripts/failover/scenario.ts";
import { cutKinds, failoverUplinks } from "../../scripts/failover/uplinks.ts";

const dir = mkdtempSync(join(tmpdir(), "failover-cuts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const uplink = (name: string, cuts: CutKind[]): UplinkInfo => ({ name, meshIp: "10.0.4.10", dev: "mu10", cuts });

describe("the cuts of a failover test", () => {
  const phases: { name: string; uplinks: UplinkInfo[]; expect: CutKind[] }[] = [
    {
      name: "internet topology: lines only",
      uplinks: [uplink("a", ["line"]), uplink("b", ["line"])],
      expect: ["line"],
    },
    {
      name: "radio homes and a remote uplink: lines, then radios",
      uplinks: [uplink("a", ["line", "radio"]), uplink("r", ["line"])],
      expect: ["line", "radio"],
    },
  ];
  for (const c of phases) it(`phases: ${c.name}`, () => expect(phasesOf(c.uplinks)).toEqual(c.expect));

  const flags: { text: string | undefined; available: CutKind[]; expect: CutKind[] | RegExp }[] = [
    { text: undefined, available: ["line", "radio"], expect: ["line", "radio"] },
    { text: "radio", available: ["line", "radio"], expect: ["radio"] },
    { text: "radio, line,radio", available: ["line", "radio"], expect: ["radio", "line"] },
    {
      text: "radio",
      available: ["line"],
      expect: /--cuts radio: no uplink in hosts\.yml can lose its radio.*radio_device/,
    },
    { text: "wan", available: ["line"], expect: /--cuts: "wan" is not a kind of cut \(line, radio\)/ },
  ];
  for (const c of flags) {
    it(`--cuts ${c.text ?? "(none)"} with ${c.available.join("+")}`, () => {
      const run = () => cutKinds({ text: c.text, available: c.available, file: "hosts.yml" });
      if (c.expect instanceof RegExp) {
        expect(run).toThrow(UserError);
        expect(run).toThrow(c.expect);
      } else expect(run()).toEqual(c.expect);
    });
  }

  it("reads the uplinks from an inventory: a radio_device gives a radio cut, a remote uplink only its line", () => {
    const file = join(dir, "hosts.yml");
    writeFileSync(
      file,
      `groups:
  hub:
    hosts:
      hub: { address: 10.42.0.1, mesh_ip: 10.0.4.1 }
  uplinks:
    vars: { ssh_via: hub }
    hosts:
      home-1: { mesh_ip: 10.0.4.65, vars: { radio_device: radio0 } }
      remote-1: { mesh_ip: 10.0.4.66 }
`,
    );
    const { hub, uplinks } = failoverUplinks(loadInventory(file));
    expect(hub.name).toBe("hub");
    expect(uplinks.map((u) => [u.name, u.dev, u.cuts])).toEqual([
      ["home-1", "mu65", ["line", "radio"]],
      ["remote-1", "mu66", ["line"]],
    ]);
  });
});

describe("the live radio cut, under BusyBox ash", () => {
  const busybox = spawnSync("sh", ["-c", "command -v busybox"]).stdout.toString().trim();
  it("returns at once, drops everything in and out of the radio after the delay, and deletes the drop by itself", async () => {
    expect(busybox, "busybox (scripts/setup.sh installs it)").not.toBe("");
    const bin = join(dir, "bin");
    const log = join(dir, "nft.log");
    spawnSync("mkdir", ["-p", bin]);
    // Stubs: nft records its arguments and its stdin; sleep records, and takes 3 s for the cut's length (a script that
    // waited for its timer before returning would take that long), none for the delay.
    writeFileSync(
      join(bin, "nft"),
      `#!${busybox} sh\necho "nft $*" >> ${log}\nif [ "$1" = -f ]; then cat >> ${log}; fi\n`,
      { mode: 0o755 },
    );
    writeFileSync(
      join(bin, "sleep"),
      `#!${busybox} sh\necho "sleep $*" >> ${log}\nif [ "$1" -gt 5 ]; then ${busybox} sleep 3; fi\n`,
      { mode: 0o755 },
    );
    writeFileSync(log, "");
    const script = radioCutScript({ device: "radio0", delaySeconds: 1, seconds: 12 });
    const started = Date.now();
    const r = spawnSync(busybox, ["ash", "-c", script], { env: { PATH: `${bin}:/usr/bin:/bin` }, timeout: 5000 });
    expect(r.status).toBe(0);
    // It returned before the cut ended (its answer must cross the radio before the drop).
    expect(Date.now() - started).toBeLessThan(2000);
    const deadline = Date.now() + 10_000;
    while (!readFileSync(log, "utf8").includes("delete table") && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 20));
    const lines = readFileSync(log, "utf8").trim().split("\n");
    expect(lines[0]).toBe("sleep 1");
    expect(lines[1]).toBe("nft -f -");
    expect(lines).toContain('  chain input { type filter hook input priority -5; iifname "radio0" drop; }');
    expect(lines).toContain('  chain output { type filter hook output priority -5; oifname "radio0" drop; }');
    expect(lines).toContain(
      '  chain forward { type filter hook forward priority -5; iifname "radio0" drop; oifname "radio0" drop; }',
    );
    expect(lines.slice(-2)).toEqual(["sleep 12", "nft delete table ip meshisp_failover_radio"]);
  });
});
