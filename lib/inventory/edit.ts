// Changes to the inventory file made by tools (enrollment): comments and order kept, written atomically, under a lock.
import { readFileSync } from "node:fs";
import { isMap, parseDocument, type Document, YAMLMap } from "yaml";
import { writeFileAtomic } from "../atomic-file.ts";
import { UserError } from "../errors.ts";
import { withLock } from "../lock.ts";
import { loadInventory } from "./load.ts";
import { isMeshGroup, lowestFree } from "./mesh-ip.ts";
import type { Host, Inventory } from "./types.ts";

export interface HostFields {
  /** Absent for a node managed over the mesh (reached at its mesh IP). */
  address?: string;
  port?: number;
  user?: string;
  os?: string;
  mesh_ip?: string;
  vars?: Record<string, unknown>;
}

/** Writes a changed inventory document atomically (its mode and owner kept), refusing one that would not load again. */
export function saveInventoryDocument(file: string, doc: Document) {
  writeFileAtomic(file, doc.toString({ lineWidth: 0 }), {
    mode: 0o644,
    // Refuse to write what we could not read back.
    check: (tmp) => {
      try {
        loadInventory(tmp);
      } catch (err) {
        throw new UserError(
          `refusing to save the inventory: the change would make it invalid: ${(err as Error).message}`,
        );
      }
    },
  });
}

function hostsMap(doc: Document, group: string): YAMLMap {
  if (!doc.hasIn(["groups", group])) doc.setIn(["groups", group], doc.createNode({ hosts: {} }));
  if (!doc.hasIn(["groups", group, "hosts"]) || !isMap(doc.getIn(["groups", group, "hosts"])))
    doc.setIn(["groups", group, "hosts"], new YAMLMap());
  const hosts = doc.getIn(["groups", group, "hosts"]) as YAMLMap;
  // An empty group is written `hosts: {}` (a flow map): left so, the first host added would print on that one line.
  if (hosts.flow && hosts.items.length === 0) hosts.flow = false;
  return hosts;
}

/**
 * Adds a host to a mesh group with the lowest free mesh IP written out, or returns the existing entry when a host of that
 * name is already there (a re-run of an enrollment). Matched by name only, never by address: which node a router is was
 * decided from its host key before (tasks/enroll/identity.ts), and ten routers at 192.168.8.1 are ten nodes. Two
 * enrollments at once get two addresses: the file is re-read under the lock.
 */
export async function addMeshHost(
  file: string,
  group: string,
  nameOrPick: string | ((taken: Set<string>) => string),
  /** Or made from the inventory as it is under the lock (enrollment allocates the radio address there). */
  fieldsOrMake: HostFields | ((before: Inventory) => HostFields),
): Promise<{ host: Host; inventory: Inventory; added: boolean }> {
  return withLock(`${file}.lock`, () => {
    const before = loadInventory(file);
    const name = typeof nameOrPick === "string" ? nameOrPick : nameOrPick(new Set(before.hosts.map((h) => h.name)));
    const existing = before.hosts.find((h) => h.name === name);
    if (existing) {
      if (existing.group !== group)
        throw new UserError(
          `${name} is already in the inventory in group ${existing.group} (${existing.source}), not ${group}`,
        );
      return { host: existing, inventory: before, added: false };
    }
    if (!isMeshGroup(group)) throw new UserError(`${group} is not a mesh group`);
    const fields = typeof fieldsOrMake === "function" ? fieldsOrMake(before) : fieldsOrMake;
    const taken = new Set(before.hosts.filter((h) => h.meshIp && h.vars).map((h) => h.meshIp!));
    // Hosts without an explicit IP hold theirs only by file order: pin every allocation explicitly from now on.
    const ip = fields.mesh_ip ?? lowestFree(group, taken);
    if (!ip) throw new UserError(`the ${group} range is full`);
    const doc = parseDocument(readFileSync(file, "utf8"));
    hostsMap(doc, group).set(name, doc.createNode({ ...fields, mesh_ip: ip }, { flow: false }));
    saveInventoryDocument(file, doc);
    const inventory = loadInventory(file);
    return { host: inventory.hosts.find((h) => h.name === name)!, inventory, added: true };
  });
}

/** Sets fields of an existing host (e.g. os once detected), keeping everything else. */
export async function updateHost(file: string, name: string, fields: Partial<HostFields>): Promise<void> {
  await withLock(`${file}.lock`, () => {
    const inventory = loadInventory(file);
    const host = inventory.hosts.find((h) => h.name === name);
    if (!host) throw new UserError(`no host ${name} in ${file}`);
    const doc = parseDocument(readFileSync(file, "utf8"));
    for (const [key, value] of Object.entries(fields))
      doc.setIn(["groups", host.group, "hosts", name, key], doc.createNode(value));
    saveInventoryDocument(file, doc);
  });
}

/**
 * Sets vars of an existing host's own entry, one key path each (["bandwidth", "up_mbit"]), under the lock, keeping
 * comments and every other var. Group vars are left alone: the host's own value is what it gets from now on.
 */
export async function setHostVars(
  file: string,
  name: string,
  values: { path: readonly string[]; value: unknown }[],
): Promise<void> {
  if (values.length === 0) return;
  await withLock(`${file}.lock`, () => {
    const host = loadInventory(file).hosts.find((h) => h.name === name);
    if (!host) throw new UserError(`no host ${name} in ${file}`);
    const doc = parseDocument(readFileSync(file, "utf8"));
    const entry = ["groups", host.group, "hosts", name];
    if (!isMap(doc.getIn(entry))) doc.setIn(entry, doc.createNode({}));
    for (const { path, value } of values) {
      // The maps on the way made where missing (a host entry without vars, vars without bandwidth).
      for (let i = 1; i <= path.length; i++) {
        const at = [...entry, "vars", ...path.slice(0, i - 1)];
        if (!isMap(doc.getIn(at))) doc.setIn(at, doc.createNode({}));
      }
      doc.setIn([...entry, "vars", ...path], doc.createNode(value));
    }
    saveInventoryDocument(file, doc);
  });
}
