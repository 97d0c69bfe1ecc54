// The lab's inventory keeps lab traffic inside the lab: every address in it belongs to the lab's own plan.
import { describe, expect, it } from "vitest";
import { inventoryYaml } from "../../scripts/lab/inventory.ts";
import { planLab } from "../../scripts/lab/plan.ts";
import { DEFAULT_TOPOLOGY } from "../../scripts/lab/topology.ts";
import { cidrWithin } from "../../lib/pki/cidr.ts";

/** DESIGN.md's lab plan: management, simulated internet, its services, homes, hub LANs and the overlay. */
const LAB_RANGES = ["198.18.0.0/15", "203.0.113.0/24", "198.51.100.0/24", "192.168.0.0/16", "10.0.0.0/8"];
const inLab = (ip: string) => LAB_RANGES.some((range) => cidrWithin(`${ip}/32`, range));

describe("the lab's inventory", () => {
  const text = inventoryYaml(
    { runId: "mltest", sshKeyPath: "/k", knownHostsPath: "/kh" },
    planLab("mltest", 3, DEFAULT_TOPOLOGY),
  );
  it("names no address outside the lab's plan (no public resolver as probe target or DNS forwarder)", () => {
    const addresses = [...text.matchAll(/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/g)].map((m) => m[0]);
    expect(addresses.length).toBeGreaterThan(10);
    expect(addresses.filter((a) => !inLab(a))).toEqual([]);
    expect(text).toMatch(/routing_probe_target: 198\.51\.100\.10/);
    expect(text).toMatch(/dns_forwarders:\n\s+- 198\.51\.100\.10/);
  });
});
