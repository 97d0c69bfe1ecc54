// How many times traffic crosses a volunteer's line, from byte counters: the command (BusyBox cat), its parsing, the shares.
import { describe, expect, it } from "vitest";
import { countersCommand, crossings, parseCounters } from "../../scripts/shaping/crossings.ts";

describe("line crossings from byte counters", () => {
  it("reads rx then tx of each device, in order, with OpenWrt's cat only", () => {
    expect(countersCommand(["wan0", "radio0"])).toBe(
      "cat /sys/class/net/wan0/statistics/rx_bytes /sys/class/net/wan0/statistics/tx_bytes /sys/class/net/radio0/statistics/rx_bytes /sys/class/net/radio0/statistics/tx_bytes",
    );
    expect(parseCounters(["wan0", "radio0"], "100\n20\n3\n4000\n")).toEqual({
      wan0: { rx: 100, tx: 20 },
      radio0: { rx: 3, tx: 4000 },
    });
  });

  it.each([
    { out: "100\n", why: "a device's line missing (no such device)" },
    { out: "100\n20\n3\n", why: "one number short" },
    { out: "100\n20\ncat: can't open\n4\n", why: "an error in place of a number" },
  ])("refuses output that is not every device's two counters: $why", ({ out }) => {
    expect(() => parseCounters(["wan0", "radio0"], out)).toThrow(/expected rx\/tx bytes of wan0, radio0/);
  });

  it.each([
    // A download over the radio: in once on the line, only ACKs out.
    {
      name: "once (radio)",
      before: { rx: 1000, tx: 500 },
      after: { rx: 1_051_000, tx: 28_500 },
      payload: 1_000_000,
      want: { rx: 1.05, tx: 0.028, both: 1.078 },
    },
    // The same download with the tunnel on the line: in, and out again inside the tunnel.
    {
      name: "twice (remote)",
      before: { rx: 0, tx: 0 },
      after: { rx: 1_140_000, tx: 1_170_000 },
      payload: 1_000_000,
      want: { rx: 1.14, tx: 1.17, both: 2.31 },
    },
  ])("shares of the payload both ways: $name", ({ before, after, payload, want }) => {
    const got = crossings({ before, after, payloadBytes: payload });
    expect(got.rx).toBeCloseTo(want.rx, 6);
    expect(got.tx).toBeCloseTo(want.tx, 6);
    expect(got.both).toBeCloseTo(want.both, 6);
  });

  it("refuses a run that delivered nothing (no ratio to give)", () => {
    expect(() => crossings({ before: { rx: 0, tx: 0 }, after: { rx: 10, tx: 10 }, payloadBytes: 0 })).toThrow(
      /no payload/,
    );
  });
});
