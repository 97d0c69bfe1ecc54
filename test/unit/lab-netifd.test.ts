// The lab's netifd stand-in (scripts/lab/netifd/netifd) against every behaviour in its fixture
// (scripts/lab/netifd/fixtures/netifd-static.tsv): a fake root whose `ip` records what it is asked, the lab's uci on
// PATH, BusyBox ash with only OpenWrt's default applets.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { netifdFiles } from "../../scripts/lab/netifd/image.ts";
import { openwrtPath } from "../openwrt-shell.ts";
import { fixtureRows } from "./tsv-fixture.ts";

const FIXTURE = join(import.meta.dirname, "../../scripts/lab/netifd/fixtures/netifd-static.tsv");
const applets = openwrtPath();
const ash = join(applets, "ash");
const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

/** What the lab's config_generate writes on a pilot router at first boot. */
const FIRST_BOOT = `config interface 'loopback'\n\toption device 'lo'\n\toption proto 'static'\n\toption ipaddr '127.0.0.1'\n\toption netmask '255.0.0.0'\n
config interface 'lan'\n\tlist device 'br-lan'\n\toption proto 'static'\n
config interface 'wan'\n\toption device 'wan0'\n\toption proto 'dhcp'\n
config interface 'wan6'\n\toption device 'wan0'\n\toption proto 'dhcpv6'\n`;

function fakeRouter(sections: string) {
  const root = mkdtempSync(join(tmpdir(), "lab-netifd-"));
  roots.push(root);
  for (const d of [
    "etc/config",
    "tmp/.uci",
    "var/run",
    "bin",
    ...["lo", "br-lan", "wan0", "radio0", "lan4"].map((n) => `sys/class/net/${n}`),
  ])
    mkdirSync(join(root, d), { recursive: true });
  writeFileSync(
    join(root, "etc/config/network"),
    `${FIRST_BOOT}\n${sections.replace(/\\n/g, "\n").replace(/\\t/g, "\t")}\n`,
  );
  const tool = (name: string, body: string) => {
    writeFileSync(join(root, "bin", name), `#!${ash}\n${body}\n`);
    chmodSync(join(root, "bin", name), 0o755);
  };
  // The router's uci is the lab's, with its files under the fake root (netifd's own -c/-P come after and win).
  tool("uci", `exec ${ash} ${netifdFiles.uci} -c ${root}/etc/config -P ${root}/tmp/.uci "$@"`);
  tool("ip", `echo "$*" >> ${root}/ip.log`);
  const env = { PATH: `${join(root, "bin")}:${applets}`, LAB_NETIFD_ROOT: root };
  const step = (s: string): string => {
    writeFileSync(join(root, "ip.log"), "");
    const run = s.startsWith("uci ")
      ? spawnSync(ash, ["-c", s], { env, encoding: "utf8" })
      : spawnSync(ash, [netifdFiles.netifd, ...s.split(" ")], { env, encoding: "utf8" });
    if (run.status !== 0) throw new Error(`${s}: exit ${run.status}: ${run.stderr}`);
    return readFileSync(join(root, "ip.log"), "utf8").trim().split("\n").filter(Boolean).join(";");
  };
  return { step };
}

const rows = fixtureRows(FIXTURE);

describe("the lab's netifd, row by row against netifd-static.tsv", () => {
  it.each(rows.map((r) => [r.name, r] as const))("%s", (_name, row) => {
    const router = fakeRouter(row.sections);
    const calls = row.steps.split("|").map((s) => router.step(s));
    expect(calls.join("|"), row.source).toBe(row.calls);
  });
});
