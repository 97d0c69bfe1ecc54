// The procd stand-in's installer lines and the fixture reader the lab test is driven by (no lab needed).
import { describe, expect, it } from "vitest";
import { procdImageScript } from "../../scripts/lab/procd/index.ts";
import { helpText, ubusSample, verbRows } from "../../scripts/lab/procd/fixture.ts";

describe("procdImageScript", () => {
  const cases = [
    {
      name: "openwrt image: OpenWrt's own paths",
      args: { root: '"$R"' },
      has: ['"$R"/etc/rc.common', '"$R"/lib/functions/procd.sh', '"$R"/bin/ubus'],
      not: ["usr/bin/ubus"],
    },
    // Debian's /bin and /lib are symlinks: a directory of that name in the upper layer would hide the whole system.
    {
      name: "debian layer: under /usr",
      args: { root: '"$U"', mergedUsr: true },
      has: ['"$U"/usr/lib/functions/procd.sh', '"$U"/usr/bin/ubus'],
      not: ['"$U"/bin', '"$U"/lib/'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const script = procdImageScript(c.args);
      for (const s of c.has) expect(script).toContain(s);
      for (const s of c.not) expect(script).not.toContain(s);
      expect(script).toContain("/usr/libexec/lab-procd/busybox");
    });
  }
});

describe("procd fixtures", () => {
  it("17 verbs for each of the three script kinds, in the probe's order", () => {
    const rows = verbRows();
    for (const s of ["fxa", "fxb", "fxc"] as const) {
      expect(rows.filter((r) => r.script === s).map((r) => r.verb)).toEqual(
        "enabled enable enabled start start status running reload restart stop status running stop boot disable enabled stop".split(
          " ",
        ),
      );
    }
    expect(rows.find((r) => r.script === "fxa" && r.step === 13)?.stderr).toBe(
      'Command failed: ubus call service delete { "name": "fxa" } (Not found)',
    );
    expect(rows.find((r) => r.script === "fxb" && r.step === 5)).toMatchObject({
      processes: 2,
      newPid: true,
      stdout: "fxb: starting",
    });
    expect(rows.find((r) => r.script === "fxc" && r.step === 6)?.stdout).toBe("help");
  });

  it("help texts end with one blank line; the procd one lists running, status, trace, info", () => {
    expect(helpText("fxb").endsWith("autostart\n\tenabled         Check if service is started on boot\n\n")).toBe(true);
    expect(helpText("fxa")).toContain("\tinfo            Dump procd service info\n\n");
    expect(ubusSample("after_stop")).toEqual({});
  });
});
