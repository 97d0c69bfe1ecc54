// The lab's uci stand-in (scripts/lab/openwrt/files/uci) against every documented behaviour in its fixture
// (scripts/lab/openwrt/fixtures/uci-behaviour.tsv), run by BusyBox ash with only OpenWrt's default applets on PATH.
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { netifdFiles } from "../../scripts/lab/netifd/image.ts";
import { openwrtPath } from "../openwrt-shell.ts";
import { fixtureRows } from "./tsv-fixture.ts";

const FIXTURE = join(import.meta.dirname, "../../scripts/lab/openwrt/fixtures/uci-behaviour.tsv");
const NETWORK = "/work/shared/openwrt/probes/network-config-used.uci";
const applets = openwrtPath();
const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

const unescape = (cell: string) => cell.replace(/\\n/g, "\n").replace(/\\t/g, "\t");

/** A fake router root (its /etc/config/network, an empty /tmp/.uci) and a `uci` on PATH that is the stand-in there. */
function fakeRouter(): { root: string; bin: string } {
  const root = mkdtempSync(join(tmpdir(), "lab-uci-"));
  roots.push(root);
  mkdirSync(join(root, "etc/config"), { recursive: true });
  mkdirSync(join(root, "tmp/.uci"), { recursive: true });
  copyFileSync(NETWORK, join(root, "etc/config/network"));
  const bin = join(root, "bin");
  mkdirSync(bin);
  writeFileSync(
    join(bin, "uci"),
    `#!${join(applets, "ash")}\nexec ${join(applets, "ash")} ${netifdFiles.uci} -c ${root}/etc/config -P ${root}/tmp/.uci "$@"\n`,
  );
  chmodSync(join(bin, "uci"), 0o755);
  return { root, bin };
}

const rows = fixtureRows(FIXTURE);

describe("the lab's uci, row by row against uci-behaviour.tsv", () => {
  it("has a row for every command the project uses", () => {
    const used = new Set(rows.flatMap((r) => [...unescape(r.script).matchAll(/uci (?:-q )?(\w+)/g)].map((m) => m[1])));
    for (const verb of ["get", "set", "add_list", "delete", "commit", "revert", "changes", "show", "export"])
      expect(used, verb).toContain(verb);
  });

  it.each(rows.map((r) => [r.name, r] as const))("%s", (_name, row) => {
    const { root, bin } = fakeRouter();
    // The row's paths are the router's: here they live under the fake root.
    const script = unescape(row.script).replace(/\/(etc\/config|tmp\/)/g, `${root}/$1`);
    const run = spawnSync(join(applets, "ash"), ["-c", script], {
      env: { PATH: `${bin}:${applets}` },
      encoding: "utf8",
    });
    expect({ stdout: run.stdout, exit: run.status, stderr: run.stderr }, row.source).toEqual({
      stdout: unescape(row.stdout),
      exit: Number(row.exit),
      stderr: unescape(row.stderr),
    });
  });

  it("commit rewrites the file in uci's layout, and the stand-in reads it back the same", () => {
    const { root, bin } = fakeRouter();
    const env = { PATH: `${bin}:${applets}` };
    const before = spawnSync(join(applets, "ash"), ["-c", "uci show network"], { env, encoding: "utf8" }).stdout;
    spawnSync(join(applets, "ash"), ["-c", "uci set network.lan.ipaddr=192.168.1.1 && uci commit network"], { env });
    const text = readFileSync(join(root, "etc/config/network"), "utf8");
    expect(text.startsWith("\nconfig interface 'loopback'\n\toption device 'lo'\n")).toBe(true);
    expect(text).toContain("\nconfig device\n\toption name 'br-lan'\n\toption type 'bridge'\n\tlist ports 'lan1'\n");
    expect(spawnSync(join(applets, "ash"), ["-c", "uci show network"], { env, encoding: "utf8" }).stdout).toBe(before);
  });
});
