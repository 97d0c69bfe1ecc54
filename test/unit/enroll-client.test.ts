// The client enrollment's checks before anything changes: its flags (each bad one refused naming the flag) and the machine (Debian 12 or later).
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadInventory } from "../../lib/inventory/load.ts";
import { hubCarriesInternet } from "../../tasks/enroll/client.ts";
import { UserError } from "../../lib/errors.ts";
import { checkClientFlags } from "../../tasks/enroll/client-flags.ts";
import { clientProblems } from "../../tasks/enroll/client-checks.ts";
import type { RouterFacts } from "../../tasks/enroll/checks.ts";

describe("checkClientFlags", () => {
  it.each([
    { name: "nothing given (everything asked)", flags: {} },
    { name: "an IPv4 address and a port", flags: { address: "192.168.1.23", port: "2222" } },
    { name: "a LAN host name", flags: { address: "ada-laptop.lan" } },
    {
      name: "a name, the member and where",
      flags: { name: "client-7", member: "Ada Lovelace", contact: "+1 217 555 0199", location: "2nd floor" },
    },
  ])("accepts $name", ({ flags }) => expect(() => checkClientFlags(flags)).not.toThrow());

  it.each([
    { name: "an address out of range", flags: { address: "192.168.1.300" }, error: ["--address", "192.168.1.300"] },
    { name: "an address with a space", flags: { address: "192.168.1.23 22" }, error: ["--address"] },
    { name: "an empty address", flags: { address: "" }, error: ["--address"] },
    { name: "port 0", flags: { port: "0" }, error: ["--port", "1 to 65535"] },
    { name: "a port that is no number", flags: { port: "ssh" }, error: ["--port", '"ssh"'] },
    { name: "a name with capitals", flags: { name: "Client_1" }, error: ["--name", "node name", "Client_1"] },
    { name: "an empty member", flags: { member: "  " }, error: ["--member", "the member's name"] },
    { name: "a contact with a line break", flags: { contact: "a@b.org\nrm -rf" }, error: ["--contact", "line breaks"] },
  ])("refuses $name", ({ flags, error }) => {
    let caught: unknown;
    try {
      checkClientFlags(flags);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UserError);
    for (const part of error) expect((caught as Error).message).toContain(part);
  });
});

describe("clientProblems (a member's machine)", () => {
  const debian: RouterFacts = {
    os: "debian",
    release: "12.5",
    description: "Debian 12.5",
    firewall: "none",
    packageManager: "apt",
    freeKiB: 4 << 20,
    clockSkewSeconds: 0,
    nebulaVersion: null,
    model: "x86_64",
    blankRootPassword: false,
    addresses: [],
    ports: [],
  } as RouterFacts;
  it.each([
    { name: "Debian 12", facts: {}, want: [] },
    { name: "Debian testing (no number)", facts: { release: "trixie/sid" }, want: [] },
    {
      name: "Debian 11: too old for nebula 1.6",
      facts: { release: "11.9" },
      want: [/Debian 11\.9 is older than 12.*upgrade to Debian 12/],
    },
    {
      name: "an OpenWrt router: the uplink enrollment",
      facts: { os: "openwrt" as const, description: "OpenWrt 23.05.5" },
      want: [/runs OpenWrt 23\.05\.5: a mesh client is a member's Debian machine.*enroll-uplink/],
    },
    { name: "and what every node needs: a clock", facts: { clockSkewSeconds: 900 }, want: [/clock is 15 minutes off/] },
  ])("$name", ({ facts, want }) => {
    const problems = clientProblems({ ...debian, ...facts });
    expect(problems).toHaveLength(want.length);
    want.forEach((re, i) => expect(problems[i]).toMatch(re));
  });
});

describe("hubCarriesInternet (whether a client's internet may move into the mesh now)", () => {
  const inventoryWith = (issued: object[] | null) => {
    const dir = mkdtempSync(join(tmpdir(), "meshisp-enroll-client-"));
    writeFileSync(
      join(dir, "hosts.yml"),
      "groups:\n  hub:\n    hosts:\n      hub: { address: 10.42.0.1, os: debian }\n",
    );
    if (issued) {
      mkdirSync(join(dir, "pki"));
      writeFileSync(join(dir, "pki", "issued.json"), JSON.stringify(issued));
    }
    return loadInventory(join(dir, "hosts.yml"));
  };
  const hub = (subnets: string[]) => ({
    name: "hub",
    ip: "10.0.4.1/16",
    groups: ["hub"],
    subnets,
    fingerprint: "f",
    notBefore: "2026-01-01T00:00:00Z",
    notAfter: "2027-01-01T00:00:00Z",
  });
  it.each([
    ["no register yet", null, false],
    ["the hub's certificate carries its LAN only", [hub(["10.42.0.0/24"])], false],
    ["one half only", [hub(["0.0.0.0/1"])], false],
    [
      "both halves (a client opted in before and the kitchen deployed)",
      [hub(["10.42.0.0/24", "0.0.0.0/1", "128.0.0.0/1"])],
      true,
    ],
    [
      "another node's certificate carries them, not the hub's",
      [{ ...hub(["0.0.0.0/1", "128.0.0.0/1"]), name: "relay" }],
      false,
    ],
  ] as [string, object[] | null, boolean][])("%s", (_what, issued, want) => {
    expect(hubCarriesInternet(inventoryWith(issued))).toBe(want);
  });
});
