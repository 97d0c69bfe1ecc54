// Enrollment refuses firmware the mesh cannot serve, saying what to do; table-driven over real firmware kinds.
import { describe, expect, it } from "vitest";
import { describeRouter, inspectRouter, routerProblems, type RouterFacts } from "../../tasks/enroll/checks.ts";
import { LocalTransport } from "../../lib/transport/local.ts";

const good: RouterFacts = {
  addresses: [],
  ports: [],
  os: "openwrt",
  release: "23.05.5",
  description: "OpenWrt 23.05.5 r24106-10cc5fcd00",
  freeKiB: 20 * 1024,
  clockSkewSeconds: 3,
  packageManager: "opkg",
  firewall: "fw4",
  nebulaVersion: null,
  model: "GL.iNet GL-MT3000",
  blankRootPassword: false,
};

describe("routerProblems", () => {
  it.each([
    { name: "stock OpenWrt 23.05", facts: {}, want: [] },
    { name: "OpenWrt 24.10 with nebula 1.8.2", facts: { release: "24.10.4", nebulaVersion: "1.8.2" }, want: [] },
    { name: "OpenWrt 25.12 (apk)", facts: { release: "25.12.0", packageManager: "apk" as const }, want: [] },
    { name: "OpenWrt 22.03 (nebula 1.6.1)", facts: { release: "22.03.5", nebulaVersion: "1.6.1" }, want: [] },
    { name: "a snapshot build", facts: { release: "SNAPSHOT" }, want: [] },
    { name: "nft without fw4 (the lab's routers before fw4)", facts: { firewall: "nft" as const }, want: [] },
    {
      name: "GL.iNet 4.x on 21.02: fw3 with iptables",
      facts: { release: "21.02-SNAPSHOT", firewall: "fw3" as const },
      want: [
        /21\.02-SNAPSHOT is older than 22\.03.*upgrade to OpenWrt 23\.05 or later \(GL\.iNet: firmware 4\.5/,
        /fw3 with iptables.*needs nftables with fw4: upgrade to OpenWrt 23\.05/,
      ],
    },
    {
      name: "OpenWrt 19.07",
      facts: { release: "19.07.10", firewall: "fw3" as const },
      want: [/19\.07\.10 is older than 22\.03/, /fw3/],
    },
    { name: "no nft at all", facts: { firewall: "none" as const }, want: [/no nftables \(nft\).*flash stock OpenWrt/] },
    { name: "no release field", facts: { release: "" }, want: [/no DISTRIB_RELEASE/] },
    { name: "no package manager", facts: { packageManager: null }, want: [/no package manager \(opkg or apk\)/] },
    {
      name: "full flash (apk)",
      facts: { freeKiB: 2048, packageManager: "apk" as const, release: "25.12.0" },
      want: [/only 2 MB free.*apk del/],
    },
    { name: "clock off by an hour", facts: { clockSkewSeconds: -3600 }, want: [/clock is -60 minutes off/] },
    {
      name: "a Debian host is not checked for fw4",
      facts: { os: "debian" as const, release: "12.5", firewall: "none" as const, packageManager: "apt" as const },
      want: [],
    },
  ])("$name", ({ facts, want }) => {
    const problems = routerProblems({ ...good, ...facts });
    expect(problems).toHaveLength(want.length);
    want.forEach((re, i) => expect(problems[i]).toMatch(re));
  });
});

describe("describeRouter", () => {
  it.each([
    { name: "a router with a root password", facts: {}, blank: false },
    { name: "a fresh image (root has no password)", facts: { blankRootPassword: true }, blank: true },
  ])("$name", ({ facts, blank }) => {
    expect(describeRouter({ ...good, ...facts }).includes("NO root password")).toBe(blank);
  });
});

describe("inspectRouter", () => {
  it("reads this machine in one round trip, with the release and nebula's version", async () => {
    const transport = new LocalTransport();
    const facts = await inspectRouter(transport);
    expect(transport.roundTrips).toBe(1);
    expect(facts).toMatchObject({ os: "debian", packageManager: "apt", blankRootPassword: false });
    expect(facts.release).toMatch(/^\d+/);
    expect(facts.nebulaVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(describeRouter(facts)).toMatch(/apt, firewall \w+, nebula \d+\.\d+\.\d+/);
  });
});
