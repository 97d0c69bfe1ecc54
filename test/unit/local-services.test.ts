// What scripts/test-local-services.ts checks on a hub: the declared services, where each answers, the DNS answers expected.
import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadInventory } from "../../lib/inventory/load.ts";
import { declaredOnHub } from "../../scripts/local-services/declared.ts";

const inventory = (hubVars: string) => {
  const file = join(mkdtempSync(join(tmpdir(), "meshisp-ls-")), "hosts.yml");
  writeFileSync(
    file,
    `groups:
  hub:
    hosts:
      hub: { address: 10.10.0.2, os: debian, mesh_ip: 10.0.4.1, vars: ${hubVars} }
  uplinks:
    hosts:
      uplink-1: { address: 192.168.8.1, os: openwrt, mesh_ip: 10.0.4.65 }
`,
  );
  return loadInventory(file);
};

const table = [
  {
    name: "no Docker: the native services, DNS and the node exporter by default",
    vars: "{ lan_subnet: 10.42.0.0/24 }",
    extra: {},
    services: [
      ["dns", "native", "10.0.4.1"],
      ["node-exporter", "native", "10.0.4.1"],
    ],
  },
  {
    name: "no Docker, the lab's stand-ins declared",
    vars: "{ docker_native_services: [dns, postgres, redis] }",
    extra: {},
    services: [
      ["dns", "native", "10.0.4.1"],
      ["postgres", "native", "127.0.0.1"],
      ["redis", "native", "127.0.0.1"],
    ],
  },
  {
    name: "docker_enabled (from -e): all nine, under compose",
    vars: "{ lan_subnet: 10.42.0.0/24 }",
    extra: { docker_enabled: true },
    services: [
      ["barter-cache", "compose", "10.0.4.1"],
      ["mutual-credit", "compose", "10.0.4.1"],
      ["brainjoos-sync", "compose", "10.0.4.1"],
      ["emergency-broadcast", "compose", "10.0.4.1"],
      ["dns", "compose", "10.0.4.1"],
      ["postgres", "compose", "127.0.0.1"],
      ["redis", "compose", "127.0.0.1"],
      ["node-exporter", "compose", "10.0.4.1"],
      ["cadvisor", "compose", "10.0.4.1"],
    ],
  },
];

describe("the hub's declaration", () => {
  it.each(table)("$name", ({ vars, extra, services }) => {
    const decl = declaredOnHub(inventory(vars), extra);
    expect(decl.services.map((s) => [s.name, s.runner, s.address])).toEqual(services);
  });

  it("expects service names to answer with the address asked, and nodes with their mesh IP", () => {
    const decl = declaredOnHub(inventory("{ lan_subnet: 10.42.0.0/24 }"), {});
    expect(decl.dnsExpectations).toContainEqual({ server: "10.42.0.1", name: "barter.mesh", address: "10.42.0.1" });
    expect(decl.dnsExpectations).toContainEqual({ server: "10.0.4.1", name: "barter.mesh", address: "10.0.4.1" });
    expect(decl.dnsExpectations).toContainEqual({ server: "10.42.0.1", name: "uplink-1.mesh", address: "10.0.4.65" });
    expect(new Set(decl.dnsExpectations.map((e) => e.server))).toEqual(new Set(["10.0.4.1", "10.42.0.1"]));
  });

  it("refuses a declared name that is not a service of the stack", () => {
    expect(() => declaredOnHub(inventory("{ docker_native_services: [dns, memcached] }"), {})).toThrow(
      /declares "memcached", which is not a service of the stack/,
    );
  });
});
