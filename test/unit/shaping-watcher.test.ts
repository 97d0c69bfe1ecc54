// The watcher's `watch` loop under BusyBox ash with only OpenWrt's applets, against stub tc/ip: it sets the caps when they
// are missing, says a failure once (not every second into logd's small ring buffer), and says when they are set again.
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Inventory, Host } from "../../lib/inventory/types.ts";
import { mergeVars } from "../../lib/inventory/vars.ts";
import type { HostContext } from "../../lib/play.ts";
import { uplinkShaping } from "../../roles/shaping/caps.ts";
import { renderShapingScript } from "../../roles/shaping/script.ts";
import { shapingDefaults } from "../../roles/shaping/defaults.ts";
import { openwrtPath } from "../openwrt-shell.ts";
import { identified } from "../helpers/plan.ts";
import { waitFor } from "../helpers/poll.ts";

// `lo` stands in for both devices (it is always in /sys/class/net); the stubs never touch the machine's network.
const STUB_TC = `#!/bin/sh
echo "$*" >> "$STUB_DIR/calls"
if [ -f "$STUB_DIR/works" ]; then
	case "$*" in
	"qdisc replace"*) : > "$STUB_DIR/set" ;;
	"qdisc show"*) [ -f "$STUB_DIR/set" ] && printf 'qdisc htb 1: root refcnt 2\\nqdisc ingress ffff: parent ffff:fff1\\n' ;;
	esac
	exit 0
fi
echo "Error: Specified qdisc kind is unknown." >&2
exit 2
`;

function context(): HostContext {
  const host = {
    name: "uplink-2",
    address: "198.18.1.3",
    port: 22,
    user: "root",
    os: "openwrt",
    group: "uplinks",
    meshIp: "10.0.4.66",
    vars: {},
    source: "hosts.yml:30",
  } as Host;
  const vars = mergeVars(shapingDefaults, {
    bandwidth: { up_mbit: 5, down_mbit: 20 },
    shaping_mesh_device: "lo",
    shaping_ifb_device: "lo",
  });
  return { host, os: "openwrt", facts: identified("openwrt", host.name), vars, inventory: {} as Inventory };
}

const running: { kill(): void }[] = [];
afterEach(() => running.splice(0).forEach((p) => p.kill()));

describe("the shaping watcher under OpenWrt's BusyBox", () => {
  it("says a failure once while it keeps trying every second, then says the caps are set, then stays quiet", async () => {
    const dir = mkdtempSync(join(tmpdir(), "shaping-watch-"));
    const script = join(dir, "shaping.sh");
    writeFileSync(script, renderShapingScript(uplinkShaping(context()), new Set()));
    for (const tool of ["tc", "ip"]) {
      writeFileSync(join(dir, tool), tool === "tc" ? STUB_TC : `#!/bin/sh\necho "ip $*" >> "$STUB_DIR/calls"\n`);
      chmodSync(join(dir, tool), 0o755);
    }
    const owrt = openwrtPath();
    const out = { stdout: "", stderr: "" };
    const child = spawn(join(owrt, "ash"), [script, "watch"], { env: { PATH: `${dir}:${owrt}`, STUB_DIR: dir } });
    running.push(child);
    child.stdout.on("data", (d) => (out.stdout += d));
    child.stderr.on("data", (d) => (out.stderr += d));
    const applies = () =>
      existsSync(join(dir, "calls"))
        ? (readFileSync(join(dir, "calls"), "utf8").match(/^qdisc replace dev lo root /gm)?.length ?? 0)
        : 0;

    // Rounds of a failing apply (the kernel lacks a qdisc, say): tc's errors and our line in the first round only.
    const errors = () => out.stderr.match(/Specified qdisc kind is unknown/g)?.length ?? 0;
    await waitFor("a second failed round", () => applies() >= 2);
    const firstRound = errors();
    expect(firstRound).toBeGreaterThan(0);
    await waitFor("a fourth failed round", () => applies() >= 4);
    expect(out.stderr.match(/could not set the caps on lo and lo, trying again every 1 s/g)).toHaveLength(1);
    expect(errors()).toBe(firstRound);
    expect(out.stdout).toBe("");

    // The caps can be set now: said once, and nothing more once they are in place.
    writeFileSync(join(dir, "works"), "");
    await waitFor("the caps are set", () => out.stdout.includes("shaping: caps set on lo and lo"));
    const after = readFileSync(join(dir, "calls"), "utf8").split("\n").length;
    await waitFor(
      "two more rounds of checks",
      () => readFileSync(join(dir, "calls"), "utf8").split("\n").length >= after + 4,
    );
    expect(out.stdout.match(/caps set/g)).toHaveLength(1);
    // No apply runs while shaped() holds.
    const settled = applies();
    await waitFor(
      "another round of checks",
      () => readFileSync(join(dir, "calls"), "utf8").split("\n").length >= after + 8,
    );
    expect(applies()).toBe(settled);
  }, 30_000);
});
