// The reader of fw4's captured probe rows (../shared/openwrt/raw/fw4-unzoned-results-*.txt) that the fw4 lab test
// compares against, row by row.
import { describe, expect, it } from "vitest";
import { unzonedRows } from "../../scripts/lab/fw4/fixture.ts";

describe("fw4 unzoned-interface fixture rows", () => {
  it("reads the default config's 14 rows with their outcomes", () => {
    const rows = unzonedRows("default-24.10");
    expect(
      rows.map((r) => `${r.id} ${r.proto}${r.port ? `/${r.port}` : ""}${r.to ? ` ${r.to}` : ""} ${r.outcome}`),
    ).toEqual([
      "T1 udp/4789 refused",
      "T1 tcp/9100 refused",
      "T2 udp/4789 refused",
      "T2 tcp/9100 refused",
      "T3 tcp/9100 refused",
      "T3 udp/4789 refused",
      "T4 tcp/9100 refused",
      "T5 tcp/9100 accepted",
      "T6 tcp/9100 refused",
      "T7 tcp/9100 accepted",
      "T8 tcp/9100 accepted",
      "T8 udp/4789 accepted",
      "T9 ping unzoned no answer",
      "T9 ping wan answered",
    ]);
    expect(unzonedRows("default-23.05").map((r) => r.outcome)).toEqual(rows.map((r) => r.outcome));
  });

  it("an fw4 include opens input and forward on the device in no zone, not wan; a table of one's own opens nothing", () => {
    const open = unzonedRows("with-chain-pre-include");
    expect(open.filter((r) => r.id === "T1" || r.id === "T3").map((r) => r.outcome)).toEqual([
      "accepted",
      "accepted",
      "accepted",
      "accepted",
    ]);
    expect(open.filter((r) => r.id === "T2" || r.id === "T4").map((r) => r.outcome)).toEqual([
      "refused",
      "refused",
      "refused",
    ]);
    expect(open.find((r) => r.to === "unzoned")?.outcome).toBe("no answer");
    expect(unzonedRows("with-own-table").map((r) => `${r.id} ${r.outcome}`)).toEqual(["T1 refused", "T1 refused"]);
  });
});
