// Who may open SSH (tcp 22) to each kind of node, decided as Nebula 1.6.1 decides it from inboundRules (a rule's
// groups are AND; any matching rule admits), and the router's fw4 include for Nebula's UDP on its radio port.
import { describe, expect, it } from "vitest";
import { inboundRules, type InboundRule, type NodeType } from "../../roles/nebula/node-types.ts";
import { fw4Includes, meshAdmission } from "../../roles/routing/fw4.ts";
import { tunnelPair } from "../../roles/routing/tunnel.ts";
import { routingDefaults } from "../../roles/routing/defaults.ts";
import { hostContext, inventoryFrom } from "../context.ts";

const portMatches = (rule: InboundRule, port: number) => {
  if (rule.port === "any") return true;
  const [lo, hi] = String(rule.port).split("-").map(Number);
  return port >= lo && port <= (hi ?? lo);
};
/** Nebula's verdict for a peer carrying `groups`, tcp to `port`. */
const admits = (rules: InboundRule[], groups: string[], proto: "tcp" | "udp" | "icmp", port = 0) =>
  rules.some(
    (r) =>
      (r.proto === "any" || r.proto === proto) &&
      (proto === "icmp" || portMatches(r, port)) &&
      (r.host === "any" || (r.groups ?? []).every((g) => groups.includes(g))),
  );

const PEERS: Record<string, string[]> = {
  hub: ["hub", "lighthouse", "relay"],
  admins: ["admins"],
  uplink: ["uplink"],
  relay: ["relay"],
  client: ["client"],
};
const SSH_FROM: Record<NodeType, string[]> = {
  lighthouse: ["hub", "admins", "uplink"],
  uplink: ["hub", "admins"],
  relay: ["hub", "admins"],
  client: ["hub", "admins"],
  admin: ["hub", "admins"],
  node: ["hub", "admins"],
};

describe("SSH over the mesh only from the hub and admins (the hub also from uplinks)", () => {
  for (const [type, allowed] of Object.entries(SSH_FROM) as [NodeType, string[]][]) {
    for (const [peer, groups] of Object.entries(PEERS)) {
      if (type === "lighthouse" && peer === "hub") continue;
      const want = allowed.includes(peer);
      it(`${type}: SSH from ${peer} ${want ? "admitted" : "refused"}`, () => {
        expect(admits(inboundRules(type, 9101), groups, "tcp", 22)).toBe(want);
      });
    }
  }
  const kept: [string, NodeType, string, "tcp" | "udp" | "icmp", number, boolean][] = [
    ["the hub's VXLAN to an uplink", "uplink", "hub", "udp", 4789, true],
    ["the hub scrapes an uplink's exporter", "uplink", "hub", "tcp", 9100, true],
    ["a relay cannot reach an uplink", "uplink", "relay", "tcp", 9100, false],
    ["a client reaches the hub's DNS", "lighthouse", "client", "udp", 53, true],
    ["a client reaches the hub's web apps", "lighthouse", "client", "tcp", 443, true],
    ["a client reaches the hub's tcp 21 and 23 (around SSH)", "lighthouse", "client", "tcp", 23, true],
    ["a relay pings the hub", "lighthouse", "relay", "icmp", 0, true],
    ["the hub scrapes a relay's Nebula stats", "relay", "hub", "tcp", 9101, true],
    ["an uplink cannot scrape a relay", "relay", "uplink", "tcp", 9101, false],
  ];
  for (const [name, type, peer, proto, port, want] of kept) {
    it(name, () => expect(admits(inboundRules(type, 9101), PEERS[peer], proto, port)).toBe(want));
  }
  it("one rule per group: a rule naming both hub and admins would need a peer with both", () => {
    for (const type of Object.keys(SSH_FROM) as NodeType[])
      for (const r of inboundRules(type, 9101)) expect(r.groups?.length ?? 0).toBeLessThanOrEqual(1);
  });
});

const ROUTERS = `
groups:
  hub:
    hosts:
      hub: { address: 10.42.0.2, os: debian, vars: { radio_address: 10.44.0.1, radio_subnet: 10.44.0.0/24 } }
  relays:
    hosts:
      relay-1: { os: debian, mesh_ip: 10.0.4.33, vars: { public_address: 203.0.113.20 } }
  uplinks:
    hosts:
      radio-1: { os: openwrt, mesh_ip: 10.0.4.65, vars: { radio_address: 10.44.0.11, radio_subnet: 10.44.0.0/24, radio_device: radio0 } }
      remote-1: { os: openwrt, mesh_ip: 10.0.4.66, vars: { wan_address: 192.168.1.30 } }
`;

describe("fw4 input include on a router's radio port", () => {
  const input = (name: string) => {
    const inv = inventoryFrom(ROUTERS);
    const ctx = hostContext(inv, name, { defaults: routingDefaults });
    const hub = inv.hosts.find((h) => h.group === "hub")!;
    const t = tunnelPair("10.0.4.1", ctx.host.meshIp!, routingDefaults).uplink;
    return fw4Includes(meshAdmission(ctx, "10.0.4.1", t, [], hub))[0].content;
  };
  it("a radio uplink admits Nebula's UDP from the hub's radio address and port on radio0, and nothing else there", () => {
    const radioLines = input("radio-1")
      .split("\n")
      .filter((l) => l.includes('iifname "radio0"'));
    expect(radioLines).toEqual([
      'iifname "radio0" ip saddr 10.44.0.1 udp sport 4242 accept comment "meshisp: Nebula from the hub over the radio"',
    ]);
  });
  it("a remote uplink (no radio) gets no radio rule", () => {
    expect(input("remote-1")).not.toContain("radio");
  });
});
