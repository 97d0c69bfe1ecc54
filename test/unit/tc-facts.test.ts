// tc facts on a host without tc (a default OpenWrt image), the read-only qdisc probe against made-up kernels, and tc's
// output as each supported iproute2 version prints it.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseTcDevice, qdiscSupportFact, tcDeviceFact } from "../../lib/facts/tc.ts";
import { gatherScript } from "../../lib/runner/script.ts";
import { openwrtPath, shells } from "../openwrt-shell.ts";

const root = mkdtempSync(join(tmpdir(), "qdisc-probe-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A kernel as the probe sees it: the default qdisc, loaded modules, module files, built-ins, and what ip link prints. */
function kernel(
  name: string,
  k: { def?: string; loaded?: string[]; files?: string[]; builtin?: string[]; ipLink?: string },
): { script: string; path: string } {
  const dir = join(root, name);
  const release = "6.6.73";
  mkdirSync(join(dir, "proc"), { recursive: true });
  writeFileSync(join(dir, "proc/default_qdisc"), `${k.def ?? "pfifo_fast"}\n`);
  for (const m of k.loaded ?? []) mkdirSync(join(dir, "sys/module", m), { recursive: true });
  const mods = join(dir, "lib/modules", release);
  mkdirSync(mods, { recursive: true });
  for (const f of k.files ?? []) {
    mkdirSync(join(mods, f, ".."), { recursive: true });
    writeFileSync(join(mods, f), "");
  }
  writeFileSync(join(mods, "modules.builtin"), (k.builtin ?? []).map((b) => `${b}\n`).join(""));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  writeFileSync(
    join(bin, "ip"),
    `#!/bin/sh\nprintf '%s\\n' ${JSON.stringify(k.ipLink ?? "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000")}\n`,
  );
  writeFileSync(join(bin, "uname"), `#!/bin/sh\necho ${release}\n`);
  chmodSync(join(bin, "ip"), 0o755);
  chmodSync(join(bin, "uname"), 0o755);
  const script = qdiscSupportFact.command
    .render()
    .replaceAll("/proc/sys/net/core/default_qdisc", join(dir, "proc/default_qdisc"))
    .replaceAll("/sys/module/", `${join(dir, "sys/module")}/`)
    .replaceAll("/lib/modules/", `${join(dir, "lib/modules")}/`);
  return { script, path: bin };
}

describe("qdiscSupportFact (read-only)", () => {
  const cases = [
    { name: "this lab's kernel: none", k: {}, want: [] },
    { name: "OpenWrt: fq_codel is the default qdisc", k: { def: "fq_codel" }, want: ["fq_codel"] },
    {
      name: "OpenWrt with kmod-sched-cake installed (flat module dir)",
      k: { def: "fq_codel", files: ["sch_cake.ko"] },
      want: ["fq_codel", "cake"],
    },
    {
      name: "Debian: modules under kernel/net/sched, compressed",
      k: { files: ["kernel/net/sched/sch_fq_codel.ko.xz", "kernel/net/sched/sch_cake.ko"] },
      want: ["fq_codel", "cake"],
    },
    { name: "loaded module", k: { loaded: ["sch_cake"] }, want: ["cake"] },
    { name: "built in", k: { builtin: ["kernel/net/sched/sch_fq_codel.ko"] }, want: ["fq_codel"] },
    {
      name: "in use on a device",
      k: { ipLink: "2: eth0: <BROADCAST,MULTICAST,UP> mtu 1500 qdisc fq_codel qlen 1000" },
      want: ["fq_codel"],
    },
    {
      name: "a name that only contains the kind does not count",
      k: { files: ["sch_fq_codel_x.txt"], ipLink: "2: fq_codel0: <UP> mtu 1500 qdisc noqueue" },
      want: [],
    },
  ];
  const owrt = openwrtPath();
  it.each(cases)("$name", ({ name, k, want }) => {
    const { script, path } = kernel(name.replace(/\W+/g, "-"), k);
    for (const shell of shells()) {
      const env = shell.name.startsWith("busybox") ? `${path}:${owrt}` : `${path}:/usr/bin:/bin`;
      const out = shell.run(`PATH=${env}\n${script}`);
      expect([...qdiscSupportFact.parse(out)].sort(), shell.name).toEqual([...want].sort());
    }
  });
});

describe("tcDeviceFact without tc", () => {
  for (const shell of shells().filter((s) => s.name.startsWith("busybox"))) {
    it(`${shell.name}: lo exists, with none of our qdiscs`, () => {
      const fact = tcDeviceFact("lo");
      const { script, parse } = gatherScript([fact]);
      const state = fact.parse(parse(shell.run(script.render()).stdout).get(fact.key)!);
      expect(state).toEqual({
        exists: true,
        up: true,
        qdiscs: [],
        classes: [],
        ingressRedirects: [],
        otherIngressFilters: 0,
      });
    });
  }
});

// Each iproute2 a supported host ships, as its own tc printed one shaped device (fixtures/tc/iproute2-*.txt: tcDeviceFact's
// probe run with tc 5.15.0, 6.1.0, 6.3.0 and 6.11.0 built from iproute2's tags, on a tun device with the shaping role's
// HTB, pfifo leaf and ingress redirect): one state from every shape (class JSON since 6.2, u32 JSON since 5.18).
describe("tcDeviceFact across iproute2 versions", () => {
  const SHAPED = {
    exists: true,
    up: true,
    qdiscs: [
      { kind: "htb", handle: "1:", parent: "root", defaultClass: "10", limit: undefined },
      { kind: "pfifo", handle: "10:", parent: "1:10", defaultClass: undefined, limit: 97 },
      { kind: "ingress", handle: "ffff:", parent: "ffff:fff1", defaultClass: undefined, limit: undefined },
    ],
    classes: [{ kind: "htb", classid: "1:10", parent: "root", rateBit: 20_000_000, ceilBit: 20_000_000, prio: 0 }],
    ingressRedirects: ["ifbx"],
    otherIngressFilters: 0,
  };
  const versions = [
    { version: "5.15", ships: "OpenWrt 22.03", classes: "text", filters: "text" },
    { version: "6.1", ships: "Debian 12", classes: "text", filters: "json" },
    { version: "6.3", ships: "OpenWrt 23.05", classes: "json", filters: "json" },
    { version: "6.11", ships: "OpenWrt 24.10", classes: "json", filters: "json" },
  ];
  it.each(versions)(
    "iproute2 $version ($ships): classes as $classes, filters as $filters, the same state",
    ({ version, classes, filters }) => {
      const text = readFileSync(join(import.meta.dirname, "fixtures/tc", `iproute2-${version}-tun-shaped.txt`), "utf8");
      const section = (name: string) => text.split(`@${name}\n`)[1].split("\n@")[0];
      expect(section("class").startsWith("[") ? "json" : "text").toBe(classes);
      expect(section("filter").startsWith("[") ? "json" : "text").toBe(filters);
      expect(parseTcDevice(text)).toEqual(SHAPED);
    },
  );

  it("before 5.18, `tc -j` wraps u32's text in JSON that cannot be read: the reason the probe asks for text there", () => {
    const broken = readFileSync(join(import.meta.dirname, "fixtures/tc", "iproute2-5.15-filter-json.txt"), "utf8");
    expect(() => JSON.parse(broken)).toThrow();
  });

  // A tc that says which version it is and echoes how it was asked: the probe picks -j for filters from 5.18 on.
  const fakeTc = (version: string) => {
    const bin = mkdtempSync(join(tmpdir(), "fake-tc-"));
    writeFileSync(
      join(bin, "tc"),
      `#!/bin/sh\n[ "$1" = -V ] && { echo 'tc utility, ${version}'; exit 0; }\necho "tc $*"\n`,
    );
    chmodSync(join(bin, "tc"), 0o755);
    return bin;
  };
  const asked = [
    { version: "iproute2-5.15.0", filter: "tc filter show" },
    { version: "iproute2-5.18.0", filter: "tc -j filter show" },
    { version: "iproute2-6.11.0, libbpf 1.4.5", filter: "tc -j filter show" },
    { version: "iproute2-ss190107", filter: "tc filter show" },
  ];
  const owrt = openwrtPath();
  it.each(asked)("tc says $version: filters asked as `$filter`", ({ version, filter }) => {
    const bin = fakeTc(version);
    for (const shell of shells()) {
      const path = shell.name.startsWith("busybox") ? `${bin}:${owrt}` : `${bin}:/usr/bin:/bin`;
      const out = shell.run(`PATH=${path}\n${tcDeviceFact("lo").command.render()}`).stdout;
      expect(out.split("@filter\n")[1], shell.name).toBe(`${filter} dev lo parent ffff:\n`);
      expect(out, shell.name).toContain("@class\ntc -j class show dev lo\n");
    }
  });
});
