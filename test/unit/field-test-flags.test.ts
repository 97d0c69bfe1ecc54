// The field test scripts' command lines, table-driven: every number checked before any host is contacted (a UserError
// naming the flag and what it takes), unknown flags refused, --help answering whatever else is given; and the failover
// test's details, which say each figure against the limit it was held to.
import { describe, expect, it } from "vitest";
import { UserError } from "../../lib/errors.ts";
import { parseShapingArgs, SHAPING_HELP } from "../../scripts/shaping/args.ts";
import { FAILOVER_HELP, parseFailoverArgs } from "../../scripts/failover/args.ts";
import { against, failures } from "../../scripts/failover/scenario.ts";
import { numberFlag } from "../../scripts/test-common/flags.ts";

const refused = (parse: () => unknown): string => {
  try {
    parse();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as Error).message;
  }
  throw new Error("accepted");
};

describe("numbers on the command line", () => {
  const spec = { unit: "seconds", min: 1, max: 3600, integer: true };
  const cases: { text: string | undefined; want: number | RegExp }[] = [
    { text: undefined, want: 5 },
    { text: "3", want: 3 },
    { text: " 3 ", want: 3 },
    { text: "five", want: /^--seconds "five": expected a whole number of seconds from 1 to 3600$/ },
    { text: "", want: /expected a whole number/ },
    { text: "2.5", want: /expected a whole number/ },
    { text: "0", want: /from 1 to 3600/ },
    { text: "-1", want: /from 1 to 3600/ },
    { text: "3601", want: /from 1 to 3600/ },
    { text: "1e3", want: /expected/ },
    { text: "0x10", want: /expected/ },
    { text: "NaN", want: /expected/ },
    { text: "Infinity", want: /expected/ },
  ];
  it.each(cases)("--seconds $text", ({ text, want }) => {
    if (typeof want === "number") expect(numberFlag("--seconds", text, spec, 5)).toBe(want);
    else expect(refused(() => numberFlag("--seconds", text, spec, 5))).toMatch(want);
  });
  it("above a minimum, fractions allowed", () => {
    const above = { unit: "seconds", min: 0, aboveMin: true, max: 60 };
    expect(numberFlag("--failover-seconds", "2.5", above, 3)).toBe(2.5);
    expect(refused(() => numberFlag("--failover-seconds", "0", above, 3))).toMatch(
      /a number of seconds above 0 and at most 60/,
    );
  });
});

describe("scripts/test-shaping.ts's flags", () => {
  const cases: { argv: string[]; want: Record<string, unknown> | RegExp }[] = [
    {
      argv: [],
      want: { inventory: "inventory/pilot/hosts.yml", options: { seconds: 5, omit: 1 }, attempts: 2, json: false },
    },
    {
      argv: ["-i", "x.yml", "--seconds", "3", "--omit", "0", "--attempts", "3", "--json", "--limit", "uplink-2"],
      want: { inventory: "x.yml", limit: "uplink-2", options: { seconds: 3, omit: 0 }, attempts: 3, json: true },
    },
    { argv: ["--seconds=4"], want: { options: { seconds: 4, omit: 1 } } },
    { argv: ["--seconds", "five"], want: /^--seconds "five": expected a whole number of seconds from 1 to 3600$/ },
    { argv: ["--seconds", "2.5"], want: /^--seconds "2\.5": expected a whole number/ },
    { argv: ["--omit", "61"], want: /^--omit "61": expected a whole number of seconds from 0 to 60$/ },
    { argv: ["--attempts", "0"], want: /^--attempts "0": expected a whole number of attempts from 1 to 10$/ },
    { argv: ["--second", "5"], want: /^unknown option '--second'/ },
    { argv: ["--seconds"], want: /--seconds.*argument missing/ },
    { argv: ["uplink-1"], want: /Unexpected argument 'uplink-1'/ },
    { argv: ["--help", "--seconds", "five"], want: { help: true } },
  ];
  it.each(cases)("$argv", ({ argv, want }) => {
    if (want instanceof RegExp) expect(refused(() => parseShapingArgs(argv))).toMatch(want);
    else expect(parseShapingArgs(argv)).toMatchObject(want);
  });
  it("--help documents every option", () => {
    for (const flag of ["--inventory", "--limit", "--seconds", "--omit", "--attempts", "--json", "--help"])
      expect(SHAPING_HELP).toMatch(new RegExp(`^\\s+(-\\w, )?${flag}\\b`, "m"));
    expect(SHAPING_HELP).toMatch(/NOT JUDGED/);
    expect(SHAPING_HELP).toMatch(/Ctrl-C/);
  });
});

describe("scripts/test-failover.ts's flags", () => {
  const cases: { argv: string[]; want: Record<string, unknown> | RegExp }[] = [
    {
      argv: ["-i", "x.yml"],
      want: {
        inventory: "x.yml",
        limits: { failoverSeconds: 3, recoverySeconds: 5, maxLostPings: 100 },
        radioCutSeconds: 15,
        live: false,
      },
    },
    {
      argv: ["-i", "x.yml", "--failover-seconds", "2.5", "--recovery-seconds=8", "--radio-cut-seconds", "6", "--live"],
      want: { limits: { failoverSeconds: 2.5, recoverySeconds: 8 }, radioCutSeconds: 6, live: true },
    },
    {
      argv: ["-i", "x.yml", "--failover-seconds", "x"],
      want: /^--failover-seconds "x": expected a number of seconds above 0 and at most 60$/,
    },
    { argv: ["-i", "x.yml", "--failover-seconds=x"], want: /^--failover-seconds "x"/ },
    { argv: ["-i", "x.yml", "--recovery-seconds", "0"], want: /^--recovery-seconds "0": expected/ },
    { argv: ["-i", "x.yml", "--radio-cut-seconds", "2.5"], want: /whole number of seconds from 1 to 600/ },
    { argv: ["-i", "x.yml", "--max-lost-pings=-3"], want: /^--max-lost-pings "-3": expected/ },
    { argv: ["-i", "x.yml", "--max-lost-pings", "-3"], want: /'--max-lost-pings' argument is ambiguous/ },
    { argv: ["-i", "x.yml", "--failover-second", "5"], want: /^unknown option '--failover-second'/ },
    { argv: ["-i", "x.yml", "--url", "example.org"], want: /^--url "example\.org": expected an http/ },
    { argv: ["-i", "x.yml", "--url", "http://x/'; reboot"], want: /^--url .*expected an http/ },
    { argv: ["-i", "x.yml", "--ping", "1.1.1.1; reboot"], want: /^--ping .*expected an address/ },
    { argv: ["--cuts", "line"], want: /^which mesh\? give its inventory with -i$/ },
    { argv: ["--help", "--failover-seconds", "x"], want: { help: true } },
  ];
  it.each(cases)("$argv", ({ argv, want }) => {
    if (want instanceof RegExp) expect(refused(() => parseFailoverArgs(argv))).toMatch(want);
    else expect(parseFailoverArgs(argv)).toMatchObject(want);
  });
  it("--help documents every option", () => {
    for (const flag of [
      "--inventory",
      "--cuts",
      "--url",
      "--ping",
      "--failover-seconds",
      "--recovery-seconds",
      "--max-lost-pings",
      "--radio-cut-seconds",
      "--live",
      "--help",
    ])
      expect(FAILOVER_HELP).toMatch(new RegExp(`^\\s+(-\\w, )?${flag}\\b`, "m"));
  });
});

describe("the failover test's details: each figure against its limit", () => {
  it.each([
    { s: 1.25, limit: 3, watched: 4, want: "1.25 s (limit 3.00 s)" },
    { s: 3.4, limit: 3, watched: 4, want: "3.40 s (limit 3.00 s)" },
    { s: null, limit: 3, watched: 4, want: "never within 4.00 s (limit 3.00 s)" },
  ])("$want", ({ s, limit, watched, want }) => expect(against(s, limit, watched)).toBe(want));

  it("failed connections after the cut, by curl's exit code", () => {
    const m = {
      at: 100,
      pingSent: 0,
      pingLost: 0,
      routes: [],
      attempts: [
        { t: 99.5, ok: false, code: 7 },
        { t: 100.1, ok: false, code: 28 },
        { t: 100.2, ok: false, code: 28 },
        { t: 100.3, ok: false, code: 7 },
        { t: 100.4, ok: true },
      ],
    };
    expect(failures(m)).toBe("3 of 4 failed (28: timed out x2, 7: could not connect x1)");
    expect(failures({ ...m, attempts: [{ t: 100.4, ok: true }] })).toBe("0 of 1 failed");
  });
});
