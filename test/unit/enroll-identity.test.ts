// Which node a router is, from its host key: a table of pins + inventory -> new / re-run / migrated, or a clear refusal.
import { describe, expect, it } from "vitest";
import { ed25519HostKeyBlob } from "./ssh-key-blob.ts";
import { UserError } from "../../lib/errors.ts";
import { fingerprintOf, type Pin } from "../../lib/transport/known-hosts.ts";
import { decideIdentity, type IdentityInput } from "../../tasks/enroll/identity.ts";

const blob = ed25519HostKeyBlob;
const [K1, K2, K3, NEW] = [blob(), blob(), blob(), blob()];
const pin = (names: string, blob: Buffer, line: number): Pin => ({
  names: names.split(","),
  keyType: "ssh-ed25519",
  blob,
  line,
});
const host = (name: string, address: string, group = "uplinks") => ({
  name,
  group,
  address,
  port: 22,
  source: `hosts.yml:${name.length}`,
});
const HUB = host("hub", "10.10.0.2", "hub");
// uplink-1 and uplink-2 were enrolled by this version (pinned by name, managed at their mesh IPs).
const PINS = [pin("hub", K3, 1), pin("uplink-1", K1, 2), pin("uplink-2", K2, 3)];
const HOSTS = [HUB, host("uplink-1", "10.0.4.65"), host("uplink-2", "10.0.4.66")];

const base: IdentityInput = {
  key: NEW,
  pins: PINS,
  hosts: HOSTS,
  address: "192.168.8.1",
  port: 22,
  group: "uplinks",
  knownHostsFile: "known_hosts",
};

const CASES: { name: string; input: Partial<IdentityInput>; out?: object; error?: string[] }[] = [
  { name: "a router seen for the first time: the next free name", input: {}, out: { kind: "new", name: "uplink-3" } },
  { name: "a new router with --name", input: { name: "uplink-9" }, out: { kind: "new", name: "uplink-9" } },
  {
    name: "the same router again (at the same 192.168.8.1): that node, finishing its enrollment",
    input: { key: K2 },
    out: { kind: "re-run", name: "uplink-2" },
  },
  {
    name: "the same router again with its own --name",
    input: { key: K2, name: "uplink-2" },
    out: { kind: "re-run", name: "uplink-2" },
  },
  {
    name: "the same router with another --name: refused",
    input: { key: K2, name: "uplink-7" },
    error: ["this router is already uplink-2", `key ${fingerprintOf(K2)}`, "known_hosts:3", "not uplink-7"],
  },
  {
    name: "a new router with --name of another router: refused",
    input: { name: "uplink-2" },
    error: [`uplink-2 is another router (key ${fingerprintOf(K2)}, known_hosts:3)`, "pick another --name"],
  },
  {
    name: "killed after the pin, before the inventory write: the pinned name, not a new one",
    input: { key: K1, hosts: [HUB] },
    out: { kind: "re-run", name: "uplink-1" },
  },
  {
    name: "a name pinned by a stopped enrollment is not given to another router",
    input: { hosts: [HUB] },
    out: { kind: "new", name: "uplink-3" },
  },
  {
    name: "the hub's key at a router's address: refused (wrong group)",
    input: { key: K3 },
    error: ["this router is hub", "group hub", "not uplinks"],
  },
  {
    name: "a member's machine seen for the first time: the next free client name",
    input: { group: "clients", noun: "machine", hosts: [HUB, host("client-1", "10.0.4.129", "clients")] },
    out: { kind: "new", name: "client-2" },
  },
  {
    name: "an uplink's key at a member's machine: refused, naming the machine",
    input: { key: K2, group: "clients", noun: "machine" },
    error: ["this machine is uplink-2", "group uplinks", "not clients"],
  },
  {
    name: "old address-keyed line with this key, the inventory's node at that address: migrated to that node",
    input: {
      key: K1,
      pins: [pin("hub", K3, 1), pin("192.168.8.1", K1, 2)],
      hosts: [HUB, host("uplink-1", "192.168.8.1")],
    },
    out: { kind: "migrated", name: "uplink-1", line: 2 },
  },
  {
    name: "old address-keyed line with ANOTHER key: a different router at that address is a new node, never an overwrite",
    input: { pins: [pin("hub", K3, 1), pin("192.168.8.1", K1, 2)], hosts: [HUB, host("uplink-1", "192.168.8.1")] },
    out: { kind: "new", name: "uplink-2" },
  },
  {
    name: "old address line with this key, but no node of the inventory at that address: new",
    input: { pins: [pin("192.168.8.1", NEW, 1)], hosts: [HUB, host("uplink-1", "10.0.4.65")] },
    out: { kind: "new", name: "uplink-2" },
  },
  {
    name: "old address line with this key, but the node there already has a name pin (another router): new",
    input: {
      key: NEW,
      pins: [pin("192.168.8.1", NEW, 1), pin("uplink-1", K1, 2)],
      hosts: [HUB, host("uplink-1", "192.168.8.1")],
    },
    out: { kind: "new", name: "uplink-2" },
  },
  {
    name: "one key pinned for two nodes: refused, say which",
    input: { key: K1, pins: [...PINS, pin("uplink-5", K1, 4)] },
    error: ["pinned for several nodes", "uplink-1, uplink-5"],
  },
];

describe("enrollment identity by host key", () => {
  it.each(CASES)("$name", ({ input, out, error }) => {
    const run = () => decideIdentity({ ...base, ...input });
    if (out) expect(run()).toEqual(out);
    else {
      expect(run).toThrow(UserError);
      try {
        run();
      } catch (err) {
        for (const part of error!) expect((err as Error).message).toContain(part);
      }
    }
  });

  it("ten routers at 192.168.8.1, enrolled one after another, are ten nodes", () => {
    const pins: Pin[] = [];
    const hosts = [HUB];
    for (let i = 0; i < 10; i++) {
      const key = blob();
      const { name } = decideIdentity({ ...base, key, pins, hosts });
      pins.push(pin(name, key, pins.length + 1));
      hosts.push(host(name, `10.0.4.${65 + i}`));
      // The same router plugged in again is still that node.
      expect(decideIdentity({ ...base, key, pins, hosts })).toEqual({ kind: "re-run", name });
    }
    expect(hosts.slice(1).map((h) => h.name)).toEqual(Array.from({ length: 10 }, (_, i) => `uplink-${i + 1}`));
  });
});
