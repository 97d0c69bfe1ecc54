// Adding a node to an inventory file (lib/inventory/edit.ts): the file stays as a person wrote it, block style.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { addMeshHost, updateHost } from "../../lib/inventory/edit.ts";

const INVENTORY = `# The pilot's inventory
groups:
  hub:
    hosts:
      hub:
        address: 10.42.0.1
        mesh_ip: 10.0.4.1
  uplinks:
    vars:
      ssh_via: hub   # managed over the mesh
    hosts: {}
`;

describe("addMeshHost", () => {
  it("turns an empty group's `hosts: {}` into a block map: the new node on lines of its own, comments kept", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "inventory-edit-")), "hosts.yml");
    writeFileSync(file, INVENTORY);
    const { host, added } = await addMeshHost(file, "uplinks", "uplink-1", {
      os: "openwrt",
      vars: { bandwidth: { up_mbit: 5, down_mbit: 20 } },
    });
    expect([host.name, host.meshIp, added]).toEqual(["uplink-1", "10.0.4.65", true]);
    const text = readFileSync(file, "utf8");
    expect(text).toMatch(/\n    hosts:\n      uplink-1:\n        os: openwrt\n/);
    expect(text).toMatch(/ssh_via: hub +# managed over the mesh/);
    await addMeshHost(file, "uplinks", "uplink-2", { os: "openwrt" });
    expect(readFileSync(file, "utf8")).toMatch(
      /\n      uplink-2:\n        os: openwrt\n        mesh_ip: 10\.0\.4\.66\n/,
    );
  });
});

describe("saving the inventory", () => {
  it("keeps the file's mode and leaves no temp file, also when a change would make it invalid", async () => {
    const dir = mkdtempSync(join(tmpdir(), "inventory-edit-"));
    const file = join(dir, "hosts.yml");
    writeFileSync(file, INVENTORY);
    chmodSync(file, 0o640);
    await updateHost(file, "hub", { os: "debian" });
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(readFileSync(file, "utf8")).toMatch(/mesh_ip: 10\.0\.4\.1\n        os: debian\n/);
    const before = readFileSync(file, "utf8");
    await expect(updateHost(file, "hub", { port: -1 })).rejects.toThrow(
      /refusing to save the inventory: the change would make it invalid/,
    );
    expect(readFileSync(file, "utf8")).toBe(before);
    expect(readdirSync(dir)).toEqual(["hosts.yml"]);
  });
});
