// Adding a node to an inventory file (lib/inventory/edit.ts): the file stays as a person wrote it, block style.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { addMeshHost } from "../../lib/inventory/edit.ts";

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
    const { host, added } = await addMeshHost(file, "uplinks", "uplink-1", { os: "openwrt", vars: { bandwidth: { up_mbit: 5, down_mbit: 20 } } });
    expect([host.name, host.meshIp, added]).toEqual(["uplink-1", "10.0.4.65", true]);
    const text = readFileSync(file, "utf8");
    expect(text).toMatch(/\n    hosts:\n      uplink-1:\n        os: openwrt\n/);
    expect(text).toMatch(/ssh_via: hub +# managed over the mesh/);
    await addMeshHost(file, "uplinks", "uplink-2", { os: "openwrt" });
    expect(readFileSync(file, "utf8")).toMatch(/\n      uplink-2:\n        os: openwrt\n        mesh_ip: 10\.0\.4\.66\n/);
  });
});
