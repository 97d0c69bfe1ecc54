// Issue 10's bad input, each kind refused as decided: a UserError naming the file and line (or the flag), what is wrong
// and what is expected; the file left as it was. test/unit/no-dial.test.ts runs the same kinds through the CLIs.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkTags } from "../../lib/cli.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import { mergeVars, parseExtraVar } from "../../lib/inventory/vars.ts";
import { readLoginKey } from "../../lib/transport/ssh-key.ts";
import { KNOWN_VARS } from "../../inventory/known-vars.ts";
import { pilotInventoryYaml } from "../../scripts/lab/pilot/inventory.ts";
import { planPilot } from "../../scripts/lab/pilot/plan.ts";
import { inventoryYaml } from "../../scripts/lab/inventory.ts";
import { planLab } from "../../scripts/lab/plan.ts";
import { DEFAULT_TOPOLOGY, PILOT_TOPOLOGY } from "../../scripts/lab/topology.ts";
import { checkUplinkFlags } from "../../tasks/enroll/uplink-flags.ts";
import { varsOf } from "../../lib/play.ts";
import { monitoringDefaults, type MonitoringVars } from "../../roles/monitoring/defaults.ts";
import { scrapeTargets } from "../../roles/monitoring/targets.ts";
import { uplinksOf } from "../../roles/routing/settings.ts";
import { hostContext } from "../context.ts";
import { certificatesPlay, clientPlay, hubPlay, relayPlay, uplinkPlay } from "../../tasks/plays.ts";
import type { CertAuthority } from "../../roles/nebula/identity.ts";
import { inventoryRefusal, thrownBy } from "../helpers/refused.ts";

const dir = mkdtempSync(join(tmpdir(), "meshisp-bad-"));
const write = (name: string, text: string | Buffer) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

const HUB = "groups:\n  hub:\n    hosts:\n      hub: { address: 10.42.0.1, os: debian }\n";
const UPLINK = (vars: string) =>
  `${HUB}  uplinks:\n    hosts:\n      uplink-1:\n        mesh_ip: 10.0.4.65\n        vars: ${vars}\n`;
const BOMB = [
  "a: &a [x, x, x, x, x, x, x, x, x, x]",
  ...["b", "c", "d", "e", "f"].map((k, i) => `${k}: &${k} [${Array(10).fill(`*${"abcdef"[i]}`).join(", ")}]`),
].join("\n");

/** Each bad inventory (YAML text, or bytes), with fragments its error must contain: ":N:" is the line. */
const INVENTORIES: { name: string; text: string | Buffer; expect: string[] }[] = [
  {
    name: "alias without its anchor",
    text: `vars:\n  base_contact: *team\n${HUB}`,
    expect: [":2:", "vars.base_contact", "*team has no anchor", "&team"],
  },
  {
    name: "alias bomb",
    text: `vars:\n  dns_extra_records: {}\n${HUB}x:\n${BOMB.split("\n")
      .map((l) => `  ${l}`)
      .join("\n")}\n`,
    expect: ["aliases expand to more than 10000", "bomb"],
  },
  {
    name: "merge key (YAML 1.1)",
    text: `vars:\n  bandwidth:\n    <<: { up_mbit: 1 }\n    down_mbit: 2\n${HUB}`,
    expect: [":3:", "vars.bandwidth.<<", "merge keys", "YAML 1.1"],
  },
  {
    name: "duplicate key in a host's vars",
    text: UPLINK(
      "\n          bandwidth: { up_mbit: 5, down_mbit: 20 }\n          bandwidth: { up_mbit: 1, down_mbit: 2 }",
    ),
    expect: [":11:", "appears twice", "silently win"],
  },
  {
    name: "yes for a boolean",
    text: `vars:\n  shaping_iperf3: yes\n${HUB}`,
    expect: [":2:", "vars.shaping_iperf3", '"yes" is a string', "write true or false"],
  },
  {
    name: "off for a boolean, in a host",
    text: UPLINK("{ monitoring_node_exporter: off }"),
    expect: [":9:", "uplink-1.vars.monitoring_node_exporter", '"off"', "write true or false"],
  },
  {
    name: "Latin-1 file",
    text: Buffer.from(
      UPLINK('{ volunteer: { name: "Jos\u00e9 Mart\u00ednez", contact: "+1 217 555 0101" } }'),
      "latin1",
    ),
    expect: [":9:", "not UTF-8", "0xE9 at column 40", "Jos\u00e9 Mart\u00ednez", "iconv"],
  },
  {
    name: "misspelt variable",
    text: UPLINK("\n          bandwith: { up_mbit: 5, down_mbit: 20 }"),
    expect: [":10:", "uplink-1.vars.bandwith", "unknown variable 'bandwith'", "did you mean 'bandwidth'?"],
  },
  {
    name: "misspelt group variable",
    text: `${HUB}  uplinks:\n    vars:\n      shaping_iperf: false\n    hosts: {}\n`,
    expect: [":7:", "groups.uplinks.vars.shaping_iperf", "did you mean 'shaping_iperf3'?"],
  },
  {
    name: "misspelt key inside bandwidth",
    text: UPLINK("{ bandwidth: { up_mbits: 5, down_mbit: 20 } }"),
    expect: [":9:", "bandwidth.up_mbits", "did you mean 'up_mbit'?"],
  },
  {
    name: "misspelt group",
    text: `${HUB}  uplink:\n    hosts:\n      uplink-1: { mesh_ip: 10.0.4.65 }\n`,
    expect: [":5:", "groups.uplink", 'unknown group "uplink"', 'did you mean "uplinks"?', "no play deploys"],
  },
  {
    name: "a second hub",
    text: `${HUB}      hub-2: { address: 10.42.0.2 }\n`,
    expect: [":5:", "groups.hub.hosts.hub-2", "a second hub", "exactly one"],
  },
  {
    name: "bandwidth above sane bounds",
    text: UPLINK("{ bandwidth: { up_mbit: 5000, down_mbit: 20000 } }"),
    expect: [":9:", "bandwidth.down_mbit", "<= 10000", "not 20000"],
  },
  {
    name: "bandwidth below sane bounds",
    text: UPLINK("{ bandwidth: { up_mbit: 0.01, down_mbit: 20 } }"),
    expect: [":9:", "bandwidth.up_mbit", ">= 0.1", "not 0.01"],
  },
  {
    name: "lan_subnet with host bits",
    text: HUB.replace("os: debian }", "os: debian, vars: { lan_subnet: 10.42.0.1/24 } }"),
    expect: [":4:", "lan_subnet", "host bits", "10.42.0.0/24"],
  },
  {
    name: "lan_subnet inside the mesh overlay",
    text: HUB.replace("os: debian }", "os: debian, vars: { lan_subnet: 10.0.8.0/24 } }"),
    expect: [":4:", "lan_subnet", "overlaps the mesh overlay 10.0.4.0/16"],
  },
  {
    name: "lan_subnet around the mesh overlay",
    text: HUB.replace("os: debian }", "os: debian, vars: { lan_subnet: 10.0.0.0/8 } }"),
    expect: [":4:", "overlaps the mesh overlay"],
  },
  {
    name: "address with a bad octet",
    text: HUB.replace("10.42.0.1", "192.168.8.300"),
    expect: [":4:", "groups.hub.hosts.hub.address", "300 is above 255"],
  },
  {
    name: "address with a port",
    text: HUB.replace("10.42.0.1", "10.0.0.1:22"),
    expect: [":4:", "address", "has a port", "port: 22"],
  },
  {
    name: "address with three numbers",
    text: HUB.replace("10.42.0.1", "10.42.1"),
    expect: [":4:", "address", "not an IPv4 address"],
  },
  {
    name: "public_address with a port",
    text: HUB.replace("os: debian }", "os: debian, vars: { public_address: 203.0.113.9:4242 } }"),
    expect: [":4:", "public_address", "has a port"],
  },
  {
    name: "a port var not a port",
    text: `vars:\n  nebula_port: 70000\n${HUB}`,
    expect: [":2:", "nebula_port", "<= 65535"],
  },
  {
    name: "routing_backup without a gateway",
    text: HUB.replace("os: debian }", "os: debian, vars: { routing_backup: { device: wan0 } } }"),
    expect: [":4:", "routing_backup", "'gateway' is required"],
  },
];

describe("bad inventories (issue 10)", () => {
  it.each(INVENTORIES)("$name", ({ name, text, expect: fragments }) => {
    const message = inventoryRefusal(write(`${name.replace(/\W+/g, "-")}.yml`, text), text);
    for (const f of fragments) expect(message).toContain(f);
  });

  it("what is decided to load does load: names as addresses, IPv6, null public_address, aliases of small blocks, quoted 'yes' where a string is expected", () => {
    const file = write(
      "good.yml",
      `vars:\n  base_contact: &team "yes"\n  base_banner_note: *team\n${HUB}  relays:\n    hosts:\n      relay-1: { address: relay.example.org, mesh_ip: 10.0.4.33, vars: { public_address: relay.example.org } }\n      relay-2: { address: "fd00::2", mesh_ip: 10.0.4.34, vars: { public_address: null } }\n`,
    );
    const inv = loadInventory(file);
    expect(inv.hosts.map((h) => h.address)).toEqual(["10.42.0.1", "relay.example.org", "fd00::2"]);
    expect(inv.vars.base_banner_note).toBe("yes");
  });
});

describe("the registry of known variables", () => {
  it("knows every default of every role the playbooks run (a role's new default must be registered in inventory/known-vars.ts)", () => {
    const ca = undefined as unknown as CertAuthority;
    const roles = [hubPlay(ca), relayPlay(ca), uplinkPlay(ca), clientPlay(ca), certificatesPlay()].flatMap(
      (p) => p.roles,
    );
    const missing = roles.flatMap((r) =>
      Object.keys(r.defaults)
        .filter((k) => !(k in KNOWN_VARS))
        .map((k) => `${r.name}.${k}`),
    );
    expect(missing).toEqual([]);
  });
});

describe("lab inventories stay valid against the known variables", () => {
  const paths = { runId: "mltest", sshKeyPath: "/k", knownHostsPath: "/kh" };
  it.each([
    { topology: "pilot", text: () => pilotInventoryYaml(paths, planPilot("mltest", PILOT_TOPOLOGY)) },
    { topology: "internet", text: () => inventoryYaml(paths, planLab("mltest", 3, DEFAULT_TOPOLOGY)) },
  ])("the $topology lab's inventory loads, and every var it writes is known", ({ topology, text }) => {
    const inv = loadInventory(write(`${topology}-lab.yml`, text()));
    const written = new Set([...Object.keys(inv.vars), ...inv.hosts.flatMap((h) => Object.keys(h.vars))]);
    expect([...written].filter((k) => !(k in KNOWN_VARS))).toEqual([]);
    expect(written).toContain("wan_address");
  });
});

describe("SSH keys: refused once, naming the file and what to do", () => {
  const keys = mkdtempSync(join(tmpdir(), "meshisp-keys-"));
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "ok", "-f", join(keys, "plain")]);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "a passphrase", "-f", join(keys, "locked")]);
  writeFileSync(join(keys, "garbage"), "not a key\n");
  const CASES = [
    {
      name: "no key at the path",
      path: join(keys, "missing"),
      expect: ["no SSH private key at", "no such file", "ssh-keygen"],
    },
    { name: "a .pub given", path: join(keys, "plain.pub"), expect: ["is a public key", `use ${join(keys, "plain")}`] },
    {
      name: "a key with a passphrase",
      path: join(keys, "locked"),
      expect: ["protected by a passphrase", "ssh-keygen -p"],
    },
    { name: "garbage", path: join(keys, "garbage"), expect: ["is not an SSH private key"] },
    { name: "a directory", path: keys, expect: ["is a directory"] },
  ];
  it.each(CASES)("$name", ({ path, expect: fragments }) => {
    const error = thrownBy(() => readLoginKey(path, "hosts.yml:1: ssh_key"));
    const text = `${error.message}\n${error.hint}`;
    for (const f of ["hosts.yml:1: ssh_key", path, ...fragments]) expect(text).toContain(f);
  });
  it("a good key gives its public line (no .pub needed)", () => {
    const key = readLoginKey(join(keys, "plain"), "x");
    expect(key.publicLine).toBe(readFileSync(join(keys, "plain.pub"), "utf8").trim());
  });
});

describe("-e, --tags", () => {
  it("-e merges deeply: both halves of bandwidth are kept", () => {
    const merged = mergeVars(...["bandwidth.up_mbit=3", "bandwidth.down_mbit=20"].map(parseExtraVar));
    expect(merged).toEqual({ bandwidth: { up_mbit: 3, down_mbit: 20 } });
    const file = write("e.yml", UPLINK("{ bandwidth: { up_mbit: 5, down_mbit: 50 } }"));
    const up = loadInventory(file, { extraVars: merged }).hosts.find((h) => h.name === "uplink-1")!;
    expect(up.vars.bandwidth).toEqual({ up_mbit: 3, down_mbit: 20 });
    expect(loadInventory(file, { extraVars: parseExtraVar("bandwidth.up_mbit=3") }).hosts[1].vars.bandwidth).toEqual({
      up_mbit: 3,
      down_mbit: 50,
    });
  });
  it("-e reaches what a role reads of other hosts: the hub's routing sees an uplink's -e cap, monitoring its -e port", () => {
    const file = write(
      "e3.yml",
      UPLINK("{ bandwidth: { up_mbit: 5, down_mbit: 50 } }").replace(
        "10.42.0.1, os: debian",
        "10.42.0.1, os: debian, mesh_ip: 10.0.4.1",
      ),
    );
    const extraVars = mergeVars(parseExtraVar("bandwidth.down_mbit=33"), parseExtraVar("nebula_stats_port=9333"));
    const ctx = hostContext(loadInventory(file, { extraVars }), "hub", { defaults: monitoringDefaults });
    expect(uplinksOf(ctx, "10.0.4.1").map((u) => [u.name, u.upMbit, u.downMbit])).toEqual([["uplink-1", 5, 33]]);
    expect(
      scrapeTargets(ctx.inventory, ctx.vars as MonitoringVars, (h) => varsOf(ctx, h)).nebula.map((t) => t.targets[0]),
    ).toContain("10.0.4.65:9333");
  });
  it.each([
    { e: "bandwith.up_mbit=3", expect: ["-e bandwith", "did you mean 'bandwidth'?"] },
    { e: "bandwidth.up_mbit=fast", expect: ["-e bandwidth.up_mbit", "must be a number"] },
    { e: "bandwidth.up_mbit=0", expect: ["-e bandwidth.up_mbit", ">= 0.1"] },
    { e: "docker_enabled=yes", expect: ["-e docker_enabled", "write true or false"] },
  ])("-e $e is refused", ({ e, expect: fragments }) => {
    const file = write("e2.yml", UPLINK("{}"));
    const { message } = thrownBy(() => loadInventory(file, { extraVars: parseExtraVar(e) }));
    for (const f of fragments) expect(message).toContain(f);
  });
  it.each([
    {
      flag: "--tags",
      tags: ["shapng"],
      expect: ["--tags shapng", "did you mean shaping?", "known tags: base, nebula, shaping"],
    },
    { flag: "--skip-tags", tags: ["nebula", "nope"], expect: ["--skip-tags nope", "known tags"] },
  ])("$flag $tags is refused with the known tags", ({ flag, tags, expect: fragments }) => {
    const { message } = thrownBy(() => checkTags(flag, tags, ["base", "nebula", "shaping"], "tasks/x.ts"));
    for (const f of fragments) expect(message).toContain(f);
  });
  it("known tags pass", () =>
    expect(() => checkTags("--tags", ["nebula"], ["base", "nebula"], "tasks/x.ts")).not.toThrow());
});

describe("enrollment flags, checked before the router is dialled", () => {
  it.each([
    { flags: { port: "abc" }, expect: ["--port", "SSH port", "1 to 65535", '"abc"'], not: "Mbit" },
    { flags: { port: "70000" }, expect: ["--port", "1 to 65535"], not: "Mbit" },
    { flags: { address: "192.168.8.300" }, expect: ["--address", "300 is above 255", "192.168.8.1"] },
    { flags: { address: "192.168.8.1:22" }, expect: ["--address", "has a port"] },
    { flags: { name: "Uplink_4" }, expect: ["--name", "node name", "uplink-4"] },
    { flags: { "up-mbit": "fast" }, expect: ["--up-mbit", "Mbit/s", '"fast"'] },
    { flags: { "down-mbit": "0" }, expect: ["--down-mbit", "0.1 to 10000"] },
    { flags: { "down-mbit": "500000" }, expect: ["--down-mbit", "0.1 to 10000"] },
    { flags: { volunteer: "  " }, expect: ["--volunteer", "empty"] },
    { flags: { contact: "a\nb" }, expect: ["--contact", "line breaks"] },
  ])("$flags", ({ flags, expect: fragments, not }) => {
    const { message } = thrownBy(() => checkUplinkFlags(flags));
    for (const f of fragments) expect(message).toContain(f);
    if (not) expect(message).not.toContain(not);
  });
  it("good flags pass", () =>
    expect(() =>
      checkUplinkFlags({
        address: "192.168.8.1",
        port: "22",
        name: "uplink-4",
        "up-mbit": "5",
        "down-mbit": "20.5",
        volunteer: "Ada",
      }),
    ).not.toThrow());
});
