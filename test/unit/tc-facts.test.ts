// tc facts on a host without tc (a default OpenWrt image), and the read-only qdisc probe against made-up kernels.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { qdiscSupportFact, tcDeviceFact } from "../../lib/facts/tc.ts";
import { gatherScript } from "../../lib/runner/script.ts";
import { openwrtPath, shells } from "../openwrt-shell.ts";

const root = mkdtempSync(join(tmpdir(), "qdisc-probe-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A kernel as the probe sees it: the default qdisc, loaded modules, module files, built-ins, and what ip link prints. */
function kernel(name: string, k: { def?: string; loaded?: string[]; files?: string[]; builtin?: string[]; ipLink?: string }): { script: string; path: string } {
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
  writeFileSync(join(bin, "ip"), `#!/bin/sh\nprintf '%s\\n' ${JSON.stringify(k.ipLink ?? "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000")}\n`);
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
    { name: "OpenWrt with kmod-sched-cake installed (flat module dir)", k: { def: "fq_codel", files: ["sch_cake.ko"] }, want: ["fq_codel", "cake"] },
    { name: "Debian: modules under kernel/net/sched, compressed", k: { files: ["kernel/net/sched/sch_fq_codel.ko.xz", "kernel/net/sched/sch_cake.ko"] }, want: ["fq_codel", "cake"] },
    { name: "loaded module", k: { loaded: ["sch_cake"] }, want: ["cake"] },
    { name: "built in", k: { builtin: ["kernel/net/sched/sch_fq_codel.ko"] }, want: ["fq_codel"] },
    { name: "in use on a device", k: { ipLink: "2: eth0: <BROADCAST,MULTICAST,UP> mtu 1500 qdisc fq_codel qlen 1000" }, want: ["fq_codel"] },
    { name: "a name that only contains the kind does not count", k: { files: ["sch_fq_codel_x.txt"], ipLink: "2: fq_codel0: <UP> mtu 1500 qdisc noqueue" }, want: [] },
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
      expect(state).toEqual({ exists: true, up: true, qdiscs: [], classes: [], ingressRedirects: [], otherIngressFilters: 0 });
    });
  }
});
