// The failover test's arithmetic, table-driven: counters read from nft, time until new connections work again, time
// until the hub's route changed, and the report's verdict.
import { describe, expect, it } from "vitest";
import { counterAfter } from "../../scripts/failover/access.ts";
import { connectionRecovery, routeChange, via } from "../../scripts/failover/measure.ts";
import { formatReport, type FailoverReport } from "../../scripts/failover/scenario.ts";

const NFT = `table ip meshisp {
	chain postrouting {
		type nat hook postrouting priority srcnat - 1; policy accept;
		iifname "mu-hub" oifname != "mu-hub" counter packets 918 bytes 61234 masquerade
	}
}`;

describe("failover test arithmetic", () => {
  it("reads the masquerade counter (0 when there is none)", () => {
    expect(counterAfter(NFT, /masquerade/)).toBe(918);
    expect(counterAfter("table ip meshisp {\n}", /masquerade/)).toBe(0);
  });

  const at = 100;
  const cases: { name: string; attempts: [number, boolean][]; expect: number | null }[] = [
    {
      name: "nothing failed after the cut: 0",
      attempts: [
        [99.5, true],
        [100.1, true],
        [100.2, true],
      ],
      expect: 0,
    },
    {
      name: "failures, then a success: from the cut to that success",
      attempts: [
        [100.1, false],
        [100.7, true],
        [100.8, false],
        [101.4, true],
        [101.5, true],
      ],
      expect: 1.4,
    },
    {
      name: "a failure before the cut does not count",
      attempts: [
        [99.0, false],
        [100.2, true],
      ],
      expect: 0,
    },
    {
      name: "never recovered: null",
      attempts: [
        [100.1, true],
        [100.3, false],
        [101.3, false],
      ],
      expect: null,
    },
  ];
  for (const c of cases) {
    it(`new connections: ${c.name}`, () => {
      const got = connectionRecovery({
        at,
        pingSent: 0,
        pingLost: 0,
        routes: [],
        attempts: c.attempts.map(([t, ok]) => ({ t, ok })),
      });
      if (c.expect === null) expect(got).toBeNull();
      else expect(got).toBeCloseTo(c.expect, 5);
    });
  }

  it("route change: first sample after the cut without the tunnel", () => {
    const routes = [
      {
        t: 99.9,
        route: "default nexthop via 10.0.253.131 dev mu65 weight 100 nexthop via 10.0.253.133 dev mu66 weight 50 ",
      },
      {
        t: 100.5,
        route: "default nexthop via 10.0.253.131 dev mu65 weight 100 nexthop via 10.0.253.133 dev mu66 weight 50 ",
      },
      { t: 100.9, route: "default via 10.0.253.133 dev mu66 " },
    ];
    expect(routeChange({ at, routes }, (r) => !via("mu65")(r))).toBeCloseTo(0.9, 5);
    expect(routeChange({ at, routes }, (r) => !via("mu66")(r))).toBeNull();
    // mu6 is not mu65.
    expect(via("mu6")("default via 10.0.253.131 dev mu65 ")).toBe(false);
  });

  it("the report says FAIL and names the failed check", () => {
    const report: FailoverReport = {
      target: "lab x",
      cuts: [
        {
          uplink: "uplink-1",
          kind: "radio",
          routeSwitch: 1.1,
          newConnections: 0.6,
          failedConnections: 9,
          pingsLost: 51,
          recovery: 2.4,
        },
        {
          uplink: "uplink-1",
          kind: "line",
          routeSwitch: 0.9,
          newConnections: null,
          failedConnections: 40,
          pingsLost: 0,
          recovery: 0.8,
        },
      ],
      backups: [
        {
          kind: "line",
          routeSwitch: 1.0,
          newConnections: 1.2,
          pingsLost: 60,
          viaBackup: true,
          backOnUplink: 1.5,
          leftBackup: false,
        },
      ],
      checks: [{ step: "uplink-1 line cut: new connections", ok: false, detail: "never (40 of 40 failed)" }],
      ok: false,
    };
    const text = formatReport(report);
    // Line cuts first, then radio cuts, each kind's all-cut after its own rows.
    const rows = text.split("\n").filter((l) => /^(uplink-1|all) /.test(l));
    expect(rows[0]).toMatch(/^uplink-1 line\s+0\.90 s\s+never\s+0\s+0\.80 s$/);
    expect(rows[1]).toMatch(
      /^all \(line\)\s+1\.00 s\s+1\.20 s\s+60\s+1\.50 s\s+\(through the backup: yes; back on an uplink: no\)$/,
    );
    expect(rows[2]).toMatch(/^uplink-1 radio\s+1\.10 s\s+0\.60 s\s+51\s+2\.40 s$/);
    expect(text).toContain("FAIL  uplink-1 line cut: new connections: never (40 of 40 failed)");
    expect(text.trim().endsWith("RESULT: FAIL")).toBe(true);
  });
});
