// The per-release table (package names, manager, nebula), the host probe's parser, and the probe itself under ash and dash.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostFacts, openwrtReleaseProbe, parseHostFacts, pendingHandlersProbe } from "../../lib/facts/host.ts";
import { compareVersions, openwrtRelease, releaseSupported } from "../../lib/facts/release.ts";
import { gatherScript } from "../../lib/runner/script.ts";
import { nebulaFeatures } from "../../roles/nebula/os.ts";
import { routingOsVars } from "../../roles/routing/os.ts";
import { shapingOsVars } from "../../roles/shaping/os.ts";
import { shells } from "../openwrt-shell.ts";

describe("OpenWrt releases", () => {
  it.each([
    { release: "25.12.0", manager: "apk", tc: "tc-full", ip: "ip-full", nebula: "1.10.0", supported: true },
    { release: "SNAPSHOT", manager: "apk", tc: "tc-full", ip: "ip-full", nebula: "1.10.0", supported: true },
    { release: "24.10.4", manager: "opkg", tc: "tc-full", ip: "ip-full", nebula: "1.8.2", supported: true },
    { release: "24.10.0-rc2", manager: "opkg", tc: "tc-full", ip: "ip-full", nebula: "1.8.2", supported: true },
    { release: "23.05.5", manager: "opkg", tc: "tc-full", ip: "ip-full", nebula: "1.8.2", supported: true },
    { release: "22.03.5", manager: "opkg", tc: "tc-full", ip: "ip-full", nebula: "1.6.1", supported: true },
    { release: "21.02.7", manager: "opkg", tc: "tc", ip: "ip-full", nebula: "1.6.1", supported: false },
    { release: "19.07.10", manager: "opkg", tc: "tc", ip: "ip-full", nebula: "1.6.1", supported: false },
    { release: "", manager: "opkg", tc: "tc-full", ip: "ip-full", nebula: "1.8.2", supported: false },
  ])("$release: $manager, $tc, $ip, nebula $nebula", ({ release, manager, tc, ip, nebula, supported }) => {
    const row = openwrtRelease(release);
    expect(row).toMatchObject({ packageManager: manager, nebula, packages: { tc, ip } });
    expect(releaseSupported(release)).toBe(supported);
    expect(shapingOsVars({ os: "openwrt", release }).shaping_packages[0]).toBe(tc);
    expect(routingOsVars({ os: "openwrt", release }).routing_packages).toContain(ip);
  });

  it("Debian hosts keep their own packages", () => {
    expect(shapingOsVars({ os: "debian", release: "12.5" }).shaping_packages).toEqual(["iproute2"]);
    expect(routingOsVars({ os: "debian", release: "12.5" }).routing_packages).toContain("iproute2");
  });

  it.each([
    ["1.6.1", "1.10.0", -1],
    ["1.10.0", "1.9.9", 1],
    ["1.8.2", "1.8.2", 0],
    ["24.10.0", "23.05", 1],
  ] as const)("compareVersions(%s, %s) has sign %d", (a, b, sign) => {
    expect(Math.sign(compareVersions(a, b))).toBe(sign);
  });

  it.each([
    { version: null, want: { nebula_version: "1.6.1", nebula_supports_local_cidr: false } },
    { version: "1.6.1", want: { nebula_version: "1.6.1", nebula_supports_local_cidr: false } },
    { version: "1.8.2", want: { nebula_version: "1.8.2", nebula_supports_local_cidr: true } },
    { version: "1.5.0", want: { nebula_version: "1.6.1", nebula_supports_local_cidr: false } },
  ])("nebula features for $version", ({ version, want }) => {
    expect(nebulaFeatures(version)).toEqual(want);
  });
});

describe("host facts", () => {
  it.each([
    {
      name: "OpenWrt 23.05 with fw4 and nebula",
      out: "os=openwrt\nrelease=23.05.5\ninit=initd\narch=mips\nkernel=5.15.167\nhostname=OpenWrt\npm=opkg\nfirewall=fw4\nnebula=1.8.2\n",
      want: {
        os: "openwrt",
        release: "23.05.5",
        packageManager: "opkg",
        firewall: "fw4",
        nebulaVersion: "1.8.2",
        pendingHandlers: [],
      },
    },
    {
      name: "OpenWrt 25.12 (apk), no nebula yet, a pending handler",
      out: "os=openwrt\nrelease=25.12.0\ninit=initd\npm=apk\nfirewall=fw4\npending=restart nebula\npending=restart nebula\n",
      want: { release: "25.12.0", packageManager: "apk", nebulaVersion: null, pendingHandlers: ["restart nebula"] },
    },
    {
      name: "GL.iNet 4.x on 21.02 (fw3)",
      out: "os=openwrt\nrelease=21.02-SNAPSHOT\npm=opkg\nfirewall=fw3\n",
      want: { firewall: "fw3", release: "21.02-SNAPSHOT" },
    },
    {
      name: "no package manager, no firewall",
      out: "os=openwrt\n",
      want: { packageManager: null, firewall: "none", release: "" },
    },
    { name: "FreeBSD", out: "os=FreeBSD\n", want: { unsupported: "FreeBSD" } },
  ])("$name", ({ out, want }) => {
    expect(parseHostFacts(out)).toMatchObject(want);
  });

  for (const shell of shells()) {
    it(`the probe runs under ${shell.name}`, () => {
      const { script, parse } = gatherScript([hostFacts]);
      const facts = hostFacts.parse(parse(shell.run(script.render()).stdout).get("host")!);
      expect(facts).toMatchObject({
        os: "debian",
        release: readFileSync("/etc/debian_version", "utf8").trim(),
        hostname: readFileSync("/proc/sys/kernel/hostname", "utf8").trim(),
      });
      // This machine has Debian's nebula 1.6.1 in /usr/bin (found by path where PATH has only BusyBox's applets).
      expect("nebulaVersion" in facts && facts.nebulaVersion).toMatch(/^\d+\.\d+\.\d+/);
    });
  }
});

// The probe's file readers (shell builtins only, no sed or cat), run on files as real devices write them.
describe("host probe file readers", () => {
  const dir = mkdtempSync(join(tmpdir(), "host-probe-"));
  const at = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  const rows = [
    {
      name: "23.05's /etc/openwrt_release (single quotes)",
      script: openwrtReleaseProbe(
        at("r1", "DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='23.05.5'\nDISTRIB_REVISION='r24106-10cc5fcd00'\n"),
      ),
      out: "release=23.05.5\n",
    },
    {
      name: "double quotes, and no newline at the end",
      script: openwrtReleaseProbe(at("r2", 'DISTRIB_ID="OpenWrt"\nDISTRIB_RELEASE="24.10.0-rc2"')),
      out: "release=24.10.0-rc2\n",
    },
    {
      name: "unquoted SNAPSHOT",
      script: openwrtReleaseProbe(at("r3", "DISTRIB_RELEASE=SNAPSHOT\nDISTRIB_TARGET='ath79/generic'\n")),
      out: "release=SNAPSHOT\n",
    },
    { name: "no DISTRIB_RELEASE line", script: openwrtReleaseProbe(at("r4", "DISTRIB_ID='OpenWrt'\n")), out: "" },
    {
      name: "pending handlers, the last without a newline",
      script: pendingHandlersProbe(at("p1", "restart nebula\nreload firewall")),
      out: "pending=restart nebula\npending=reload firewall\n",
    },
    { name: "no pending-handlers file", script: pendingHandlersProbe(join(dir, "absent")), out: "" },
  ];
  for (const shell of shells())
    for (const row of rows)
      it(`${row.name}, under ${shell.name}`, () => expect(shell.run(row.script).stdout).toBe(row.out));
});
