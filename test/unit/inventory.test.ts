// Inventories: good ones load with merged vars and mesh IPs; each bad one is refused with its line and field, changing nothing.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadInventory } from "../../lib/inventory/load.ts";
import { mergeVars, parseExtraVar } from "../../lib/inventory/vars.ts";
import { selectHosts } from "../../lib/inventory/select.ts";
import { inventoryRefusal } from "../helpers/refused.ts";

const dir = mkdtempSync(join(tmpdir(), "meshisp-inv-"));
const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

const HUB = "groups:\n  hub:\n    hosts:\n      hub: { address: 198.18.1.10 }\n";

/** Each bad inventory, with fragments its error must contain (the line as ":N:" and the field path). */
const BAD: { name: string; yaml: string; expect: string[] }[] = [
  { name: "empty file", yaml: "", expect: [":1:", "empty"] },
  { name: "top-level list", yaml: "- a\n- b\n", expect: [":1:", "top level must be a mapping"] },
  { name: "YAML syntax error", yaml: "groups:\n  hub: [unclosed\n", expect: [":3:", "YAML syntax", "end with a ]"] },
  { name: "tab indentation", yaml: "groups:\n\thub: {}\n", expect: [":2:", "tabs"] },
  { name: "duplicate key", yaml: "groups:\n  hub: {}\n  hub: {}\n", expect: [":3:", "appears twice"] },
  { name: "missing groups", yaml: "vars: {}\n", expect: ["'groups' is required"] },
  { name: "unknown top-level key", yaml: HUB + "grops: {}\n", expect: [":5:", "grops", "did you mean 'groups'"] },
  {
    name: "unknown host key (typo)",
    yaml: "groups:\n  hub:\n    hosts:\n      hub: { adress: 1.2.3.4 }\n",
    expect: [":4:", "groups.hub.hosts.hub.adress", "did you mean 'address'"],
  },
  {
    name: "missing address and mesh_ip",
    yaml: "groups:\n  uplinks:\n    hosts:\n      u1: { port: 22 }\n",
    expect: [":4:", "groups.uplinks.hosts.u1", "no address and no mesh_ip"],
  },
  {
    name: "missing address outside the mesh",
    yaml: "groups:\n  bench:\n    hosts:\n      b1: { os: debian }\n",
    expect: [":4:", "groups.bench.hosts.b1", "no address and no mesh_ip"],
  },
  {
    name: "ssh_via names no host",
    yaml: HUB + "  uplinks:\n    vars: { ssh_via: hbu }\n    hosts:\n      u1: { mesh_ip: 10.0.4.65 }\n",
    expect: [":6:", "groups.uplinks.vars.ssh_via", 'via "hbu", which is not a host', "did you mean 'hub'"],
  },
  {
    name: "ssh_via itself",
    yaml: "groups:\n  hub:\n    hosts:\n      hub:\n        address: 1.2.3.4\n        vars: { ssh_via: hub }\n",
    expect: [":6:", "groups.hub.hosts.hub.vars.ssh_via", "cannot be reached via itself", "another host"],
  },
  {
    name: "ssh_via inherited by the jump host",
    yaml: "vars: { ssh_via: hub }\n" + HUB,
    expect: [":1:", "vars.ssh_via", "hub cannot be reached via itself", "inherits ssh_via from the inventory's vars"],
  },
  {
    name: "ssh_via loop",
    yaml:
      HUB +
      "  uplinks:\n    hosts:\n      u1: { mesh_ip: 10.0.4.65, vars: { ssh_via: u2 } }\n      u2: { mesh_ip: 10.0.4.66, vars: { ssh_via: u1 } }\n",
    expect: [
      ":7:",
      "groups.uplinks.hosts.u1.vars.ssh_via",
      "the jumps loop: u1 via u2 via u1",
      ":8:",
      "u2 via u1 via u2",
    ],
  },
  {
    name: "ssh_via not a name",
    yaml: HUB + "  uplinks:\n    hosts:\n      u1: { mesh_ip: 10.0.4.65, vars: { ssh_via: 10.0.4.1 } }\n",
    expect: [":7:", "ssh_via", "lowercase letters"],
  },
  {
    name: "port not a number",
    yaml: "groups:\n  hub:\n    hosts:\n      hub:\n        address: 1.2.3.4\n        port: twenty-two\n",
    expect: [":6:", "groups.hub.hosts.hub.port", "integer"],
  },
  {
    name: "port out of range",
    yaml: "groups:\n  hub:\n    hosts:\n      hub:\n        address: 1.2.3.4\n        port: 70000\n",
    expect: [":6:", "port", "<= 65535"],
  },
  {
    name: "bad os",
    yaml: "groups:\n  hub:\n    hosts:\n      hub:\n        address: 1.2.3.4\n        os: windows\n",
    expect: [":6:", "os", "debian, openwrt"],
  },
  {
    name: "bad host name",
    yaml: "groups:\n  hub:\n    hosts:\n      Hub_1: { address: 1.2.3.4 }\n",
    expect: [":4:", "Hub_1", "lowercase"],
  },
  {
    name: "host defined twice",
    yaml: HUB + "  uplinks:\n    hosts:\n      hub: { address: 1.2.3.5 }\n",
    expect: [":7:", "groups.uplinks.hosts.hub", "already defined"],
  },
  {
    name: "mesh IP outside its group's range",
    yaml: "groups:\n  uplinks:\n    hosts:\n      u1: { address: 1.2.3.4, mesh_ip: 10.0.4.5 }\n",
    expect: [":4:", "mesh_ip", "outside the uplinks range 10.0.4.65-10.0.4.127"],
  },
  {
    name: "mesh IP outside the mesh",
    yaml: "groups:\n  hub:\n    hosts:\n      hub: { address: 1.2.3.4, mesh_ip: 10.9.9.9 }\n",
    expect: [":4:", "outside the hub range"],
  },
  {
    name: "duplicate mesh IP",
    yaml: "groups:\n  uplinks:\n    hosts:\n      u1: { address: 1.2.3.4, mesh_ip: 10.0.4.70 }\n      u2: { address: 1.2.3.5, mesh_ip: 10.0.4.70 }\n",
    expect: [":5:", "groups.uplinks.hosts.u2.mesh_ip", "already the mesh IP of u1"],
  },
  {
    name: "mesh IP not an address",
    yaml: "groups:\n  hub:\n    hosts:\n      hub: { address: 1.2.3.4, mesh_ip: 10.0.4 }\n",
    expect: [":4:", "mesh_ip", "IPv4 address"],
  },
  {
    name: "mesh IP in a non-mesh group",
    yaml: "groups:\n  bench:\n    hosts:\n      b1: { address: 1.2.3.4, mesh_ip: 10.0.4.70 }\n",
    expect: [":4:", "not part of the mesh"],
  },
  {
    name: "negative bandwidth",
    yaml: "groups:\n  uplinks:\n    hosts:\n      u1:\n        address: 1.2.3.4\n        vars: { bandwidth: { up_mbit: -5, down_mbit: 20 } }\n",
    expect: [":6:", "vars.bandwidth.up_mbit", ">= 0.1", "not -5"],
  },
  {
    name: "bandwidth missing a field",
    yaml: "groups:\n  uplinks:\n    vars:\n      bandwidth: { up_mbit: 5 }\n    hosts: {}\n",
    expect: [":4:", "groups.uplinks.vars.bandwidth", "'down_mbit' is required"],
  },
  {
    name: "bad CIDR",
    yaml: "groups:\n  hub:\n    hosts:\n      hub: { address: 1.2.3.4, vars: { lan_subnet: 10.42.0.0/33 } }\n",
    expect: [":4:", "lan_subnet", "IPv4 network"],
  },
  { name: "vars not a mapping", yaml: "vars: [1, 2]\n" + HUB, expect: [":1:", "vars", "mapping"] },
  {
    name: "volunteer without contact",
    yaml: "groups:\n  uplinks:\n    hosts:\n      u1:\n        address: 1.2.3.4\n        vars:\n          volunteer: { name: Ada }\n",
    expect: [":7:", "volunteer", "'contact' is required"],
  },
  {
    name: "address with a space",
    yaml: "groups:\n  hub:\n    hosts:\n      hub: { address: 'a b' }\n",
    expect: [":4:", "address"],
  },
];

describe("bad inventories", () => {
  it("there are at least 20 of them", () => expect(BAD.length).toBeGreaterThanOrEqual(20));

  it.each(BAD)("$name", ({ name, yaml, expect: fragments }) => {
    const message = inventoryRefusal(write(`${name.replace(/\W+/g, "-")}.yml`, yaml), yaml);
    for (const f of fragments) expect(message).toContain(f);
  });

  it("reports every problem at once", () => {
    const file = write(
      "many.yml",
      "groups:\n  uplinks:\n    hosts:\n      u1: { adress: x }\n      u2: { address: y, port: 0 }\n",
    );
    expect(() => loadInventory(file)).toThrow(/2 problems/);
  });
});

describe("good inventories", () => {
  it("merges vars in order and allocates mesh IPs around explicit ones", () => {
    const file = write(
      "good.yml",
      `# comment
vars: { base_contact: one, dns_extra_records: { x: 10.1.0.1, y: 10.1.0.1 } }
groups:
  hub:
    hosts:
      hub: { address: 198.18.1.10, os: debian }
  uplinks:
    vars: { base_contact: two, dns_extra_records: { y: 10.2.0.2 } }
    hosts:
      u1: { address: 198.18.1.11 }
      u2: { address: 198.18.1.12, mesh_ip: 10.0.4.65, vars: { base_contact: three } }
      u3: { address: 198.18.1.13 }
  bench:
    hosts:
      b1: { address: 198.18.1.14, port: 2222, user: admin }
`,
    );
    const inv = loadInventory(file);
    const byName = Object.fromEntries(inv.hosts.map((h) => [h.name, h]));
    expect(byName.hub.meshIp).toBe("10.0.4.1");
    expect(byName.u2.meshIp).toBe("10.0.4.65");
    expect(byName.u1.meshIp).toBe("10.0.4.66");
    expect(byName.u3.meshIp).toBe("10.0.4.67");
    expect(byName.b1.meshIp).toBeUndefined();
    expect(byName.b1.port).toBe(2222);
    expect(byName.u2.vars).toEqual({ base_contact: "three", dns_extra_records: { x: "10.1.0.1", y: "10.2.0.2" } });
    expect(byName.u1.vars.base_contact).toBe("two");
    expect(byName.hub.vars.base_contact).toBe("one");
    expect(inv.knownHosts).toBe(join(dir, "known_hosts"));
    expect(byName.u1.source).toBe(`${file}:10`);
    expect(selectHosts(inv, ["uplinks"], "!u2").map((h) => h.name)).toEqual(["u1", "u3"]);
    expect(selectHosts(inv, ["all"], "hub,bench").map((h) => h.name)).toEqual(["hub", "b1"]);
    expect(() => selectHosts(inv, ["all"], "nope")).toThrow(/neither a host nor a group/);
  });

  it("the pilot inventory validates: the hub at its kitchen address, everything else at its mesh IP through the hub", () => {
    const inv = loadInventory("inventory/pilot/hosts.yml");
    expect(inv.groups.uplinks.length).toBeGreaterThanOrEqual(3);
    for (const h of inv.hosts) {
      if (h.group === "hub") expect([h.address, h.via]).toEqual(["10.10.0.2", undefined]);
      else expect([h.name, h.address, h.via]).toEqual([h.name, h.meshIp, "hub"]);
    }
  });

  it("ssh_via: host vars over group vars; a chain of jumps loads; no address means the mesh IP", () => {
    const file = write(
      "via.yml",
      HUB +
        "  uplinks:\n    vars: { ssh_via: hub }\n    hosts:\n      u1: { mesh_ip: 10.0.4.65 }\n      u2: { address: 192.168.8.1, mesh_ip: 10.0.4.66, vars: { ssh_via: u1 } }\n  bench:\n    hosts:\n      b1: { address: 1.2.3.4 }\n",
    );
    const byName = Object.fromEntries(loadInventory(file).hosts.map((h) => [h.name, h]));
    expect([byName.hub.via, byName.u1.via, byName.u2.via, byName.b1.via]).toEqual([undefined, "hub", "u1", undefined]);
    expect([byName.u1.address, byName.u2.address]).toEqual(["10.0.4.65", "192.168.8.1"]);
  });

  it.each([
    { layers: [{ a: 1 }, { a: 2 }], out: { a: 2 } },
    { layers: [{ a: { b: 1, c: 1 } }, { a: { c: 2 } }], out: { a: { b: 1, c: 2 } } },
    { layers: [{ a: [1, 2] }, { a: [3] }], out: { a: [3] } },
    { layers: [{ a: { b: 1 } }, { a: 5 }], out: { a: 5 } },
  ])("mergeVars %#", ({ layers, out }) => expect(mergeVars(...(layers as Record<string, unknown>[]))).toEqual(out));

  it.each([
    { text: "a=1", out: { a: 1 } },
    { text: "a.b=x", out: { a: { b: "x" } } },
    { text: 'a={"c":true}', out: { a: { c: true } } },
    { text: "a=", out: { a: "" } },
  ])("-e $text", ({ text, out }) => expect(parseExtraVar(text)).toEqual(out));

  it("-e without = is a clear error", () => expect(() => parseExtraVar("oops")).toThrow(/expected key=value/));
});
