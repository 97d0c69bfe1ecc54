// The lab's applet table against the release fixtures (no root needed): counts, paths, and that every decision names
// a real applet of the release and, for stand-ins, a file that exists.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { APPLET_DECISIONS, OPENWRT_FILES, presentApplets, releaseApplets } from "../../scripts/lab/openwrt/applets.ts";

describe.each([
  ["23.05", 118],
  ["24.10", 119],
] as const)("OpenWrt %s applets", (release, count) => {
  const applets = releaseApplets(release);
  it(`lists ${count} applets, each at an install path of BusyBox's`, () => {
    expect(applets).toHaveLength(count);
    for (const a of applets)
      expect(a.path).toMatch(new RegExp(`^/(usr/)?s?bin/${a.applet.replace(/[[\]]/g, "\\$&")}$`));
  });
  it.each(["stat", "timeout", "base64", "tc", "logread", "wget", "hostname", "nohup", "pkill"])("has no %s", (name) => {
    expect(applets.map((a) => a.applet)).not.toContain(name);
  });
  it.each(Object.entries(APPLET_DECISIONS))(
    "decision for %s names an applet of the release, with its file",
    (applet, how) => {
      expect(applets.map((a) => a.applet)).toContain(applet);
      if (how.kind === "wrapper" || how.kind === "standin")
        expect(existsSync(join(OPENWRT_FILES, how.file))).toBe(true);
    },
  );
  it("leaves out only the absent ones", () => {
    const absent = Object.entries(APPLET_DECISIONS).filter(([, h]) => h.kind === "absent").length;
    expect(presentApplets(release)).toHaveLength(count - absent);
  });
});

it("setsid is the one applet 24.10 adds", () => {
  const a = new Set(releaseApplets("23.05").map((x) => x.applet));
  expect(
    releaseApplets("24.10")
      .filter((x) => !a.has(x.applet))
      .map((x) => x.applet),
  ).toEqual(["setsid"]);
});
