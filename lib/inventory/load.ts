// Reads an inventory file: YAML with positions, checked against inventory/schema.json, mesh IPs checked and allocated.
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { homedir } from "node:os";
import { Ajv, type ErrorObject } from "ajv";
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from "yaml";
import { InventoryError, UserError } from "../errors.ts";
import { describeRange, inRange, isMeshGroup, lowestFree } from "./mesh-ip.ts";
import type { Host, Inventory, OsFamily } from "./types.ts";
import { mergeVars } from "./vars.ts";

const schema = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", "..", "inventory", "schema.json"), "utf8"));
const validate = new Ajv({ allErrors: true, strict: false, verbose: true }).compile(schema);

interface RawHost {
  address?: string;
  port?: number;
  user?: string;
  os?: OsFamily;
  mesh_ip?: string;
  vars?: Record<string, unknown>;
}
interface RawInventory {
  ssh_key?: string;
  known_hosts?: string;
  vars?: Record<string, unknown>;
  groups: Record<string, { vars?: Record<string, unknown>; hosts?: Record<string, RawHost> }>;
}

/** One problem, located: the line of the YAML node at `path` (or its nearest parent that exists). */
class Locator {
  constructor(readonly file: string, readonly doc: Document, readonly lines: LineCounter) {}
  line(path: (string | number)[]): number | undefined {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? this.doc.contents : (this.doc.getIn(path.slice(0, n), true) as Node | undefined);
      const range = (node as Node | undefined)?.range;
      if (range) return this.lines.linePos(range[0]).line;
    }
    return undefined;
  }
  /** The line of a key itself (for unknown or duplicate keys). */
  keyLine(path: (string | number)[], key: string): number | undefined {
    const parent = path.length ? this.doc.getIn(path, true) : this.doc.contents;
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      const range = (pair?.key as Node | undefined)?.range;
      if (range) return this.lines.linePos(range[0]).line;
    }
    return this.line(path);
  }
}

const dotted = (path: (string | number)[]) => path.join(".");

function closest(word: string, options: string[]): string | undefined {
  const distance = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length][b.length];
  };
  const best = options.map((o) => ({ o, d: distance(word, o) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= 2 ? best.o : undefined;
}

function describeAjvError(e: ErrorObject, locate: Locator): { line?: number; path: string; problem: string } {
  const path = e.instancePath.split("/").slice(1).map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  const schemaNode = e.parentSchema as { description?: string; properties?: Record<string, unknown> } | undefined;
  switch (e.keyword) {
    case "additionalProperties": {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      const known = Object.keys(schemaNode?.properties ?? {});
      const hint = closest(key, known);
      return {
        line: locate.keyLine(path, key),
        path: dotted([...path, key]),
        problem: `unknown key '${key}'${hint ? ` (did you mean '${hint}'?)` : ""}; expected one of: ${known.join(", ")}`,
      };
    }
    case "required": {
      const key = (e.params as { missingProperty: string }).missingProperty;
      return { line: locate.line(path), path: dotted(path), problem: `'${key}' is required${path.length ? "" : " at the top level"}` };
    }
    case "propertyNames": {
      const name = (e.params as { propertyName: string }).propertyName;
      return { line: locate.keyLine(path, name), path: dotted([...path, name]), problem: `"${name}" is not a valid name: use lowercase letters, digits and '-', at most 63 characters` };
    }
    case "type":
      return { line: locate.line(path), path: dotted(path), problem: `${JSON.stringify(e.data)} is not valid here: must be ${(e.params as { type: string }).type === "object" ? "a mapping (key: value)" : `a ${(e.params as { type: string }).type}`}` };
    case "enum":
      return { line: locate.line(path), path: dotted(path), problem: `${JSON.stringify(e.data)} is not valid: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(", ")}` };
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
      return { line: locate.line(path), path: dotted(path), problem: `${e.message}${schemaNode?.description ? ` (${schemaNode.description})` : ""}, not ${JSON.stringify(e.data)}` };
    case "pattern":
      return { line: locate.line(path), path: dotted(path), problem: `${JSON.stringify(e.data)} is not valid: must be ${schemaNode?.description ?? `matching ${(e.params as { pattern: string }).pattern}`}` };
    default:
      return { line: locate.line(path), path: dotted(path), problem: e.message ?? e.keyword };
  }
}

function fail(file: string, problems: { line?: number; path: string; problem: string }[]): never {
  const unique = [...new Map(problems.map((p) => [`${p.line}|${p.path}|${p.problem}`, p])).values()].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  if (unique.length === 1) throw new InventoryError(file, unique[0].line, unique[0].path, unique[0].problem);
  const error = new InventoryError(file, unique[0].line, unique[0].path, unique[0].problem);
  error.message = `${file}: ${unique.length} problems:\n${unique.map((p) => `  ${file}${p.line ? `:${p.line}` : ""}: ${p.path ? `${p.path}: ` : ""}${p.problem}`).join("\n")}`;
  throw error;
}

/** Where a host's effective `ssh_via` was set (host vars > group vars > inventory vars), for messages. */
function viaPath(host: Host, raw: RawInventory): (string | number)[] {
  if (raw.groups[host.group]?.hosts?.[host.name]?.vars?.ssh_via !== undefined) return ["groups", host.group, "hosts", host.name, "vars", "ssh_via"];
  if (raw.groups[host.group]?.vars?.ssh_via !== undefined) return ["groups", host.group, "vars", "ssh_via"];
  return ["vars", "ssh_via"];
}

/** `ssh_via` names another host of the inventory, and following it from any host never comes back to that host. */
function viaProblems(hosts: Host[], raw: RawInventory, locate: Locator): { line?: number; path: string; problem: string }[] {
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const problems: { line?: number; path: string; problem: string }[] = [];
  for (const host of hosts) {
    const via = host.vars.ssh_via as string | undefined;
    if (via === undefined) continue;
    const path = viaPath(host, raw);
    const at = { line: locate.line(path), path: dotted(path) };
    if (via === host.name) {
      const inherited = path.length < 6 ? ` (it inherits ssh_via from the ${path[0] === "vars" ? "inventory's" : "group's"} vars: set it only where the hosts behind ${via} get it)` : "";
      problems.push({ ...at, problem: `${host.name} cannot be reached via itself${inherited}; expected the name of another host to jump through` });
      continue;
    }
    if (!byName.has(via)) {
      const hint = closest(via, [...byName.keys()]);
      problems.push({ ...at, problem: `${host.name} is to be reached via "${via}", which is not a host of this inventory${hint ? ` (did you mean '${hint}'?)` : ""}; hosts: ${[...byName.keys()].join(", ")}` });
      continue;
    }
    host.via = via;
  }
  // Cycles: each host's chain of jumps must end at a host reached directly.
  for (const host of hosts) {
    const chain = [host.name];
    for (let next = host.via; next; next = byName.get(next)?.via) {
      if (chain.includes(next)) {
        if (next === host.name) {
          const path = viaPath(host, raw);
          problems.push({ line: locate.line(path), path: dotted(path), problem: `the jumps loop: ${[...chain, next].join(" via ")}; expected a chain that ends at a host reached directly` });
        }
        break;
      }
      chain.push(next);
    }
  }
  return problems;
}

const expandPath = (base: string, p: string) => (p.startsWith("~/") ? join(homedir(), p.slice(2)) : isAbsolute(p) ? p : resolve(dirname(base), p));

export function loadInventory(fileArg: string, _options: { extraVars?: Record<string, unknown> } = {}): Inventory {
  const file = resolve(fileArg);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UserError(`cannot read the inventory ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`, "pass one with -i FILE");
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length) {
    fail(
      file,
      doc.errors.map((e) => ({
        line: e.linePos?.[0]?.line,
        path: "",
        problem: `YAML syntax: ${e.code === "DUPLICATE_KEY" ? "a key appears twice in the same mapping" : e.code === "TAB_AS_INDENT" ? "tabs cannot indent YAML; use spaces" : e.message.split("\n")[0]}`,
      })),
    );
  }
  const locate = new Locator(file, doc, lines);
  const data = doc.toJS() as unknown;
  if (data === null || data === undefined) fail(file, [{ line: 1, path: "", problem: "the file is empty; expected a mapping with at least 'groups'" }]);
  if (typeof data !== "object" || Array.isArray(data)) fail(file, [{ line: locate.line([]), path: "", problem: "the top level must be a mapping with 'groups' (and optionally vars, ssh_key, known_hosts), not a list or a value" }]);
  if (!validate(data)) fail(file, (validate.errors ?? []).filter((e) => e.keyword !== "if").map((e) => describeAjvError(e, locate)));
  const raw = data as RawInventory;

  const problems: { line?: number; path: string; problem: string }[] = [];
  const seen = new Map<string, string>();
  const hosts: Host[] = [];
  const groups: Record<string, string[]> = {};
  for (const [groupName, group] of Object.entries(raw.groups)) {
    groups[groupName] = [];
    for (const [name, h] of Object.entries(group.hosts ?? {})) {
      const path = ["groups", groupName, "hosts", name];
      if (seen.has(name)) {
        problems.push({ line: locate.keyLine(["groups", groupName, "hosts"], name), path: dotted(path), problem: `host "${name}" is already defined in group "${seen.get(name)}"; a host belongs to one group` });
        continue;
      }
      seen.set(name, groupName);
      groups[groupName].push(name);
      // A node managed over the mesh has no address of its own: it is reached at its mesh IP, which must then be written out.
      if (h.address === undefined && h.mesh_ip === undefined) {
        problems.push({ line: locate.line(path), path: dotted(path), problem: `no address and no mesh_ip: give the address the runner reaches it at, or (a node managed over the mesh) its mesh_ip` });
      }
      hosts.push({
        name,
        address: h.address ?? h.mesh_ip ?? "",
        port: h.port ?? 22,
        user: h.user ?? "root",
        os: h.os,
        group: groupName,
        meshIp: h.mesh_ip,
        vars: mergeVars(raw.vars ?? {}, group.vars ?? {}, h.vars ?? {}),
        source: `${file}:${locate.line(path) ?? "?"}`,
      });
    }
  }

  // Mesh IPs: explicit ones must fit their group's range and be unique; the rest get the lowest free one, in file order.
  const taken = new Map<string, string>();
  for (const host of hosts) {
    if (!host.meshIp) continue;
    const path = ["groups", host.group, "hosts", host.name, "mesh_ip"];
    if (!isMeshGroup(host.group)) {
      problems.push({ line: locate.line(path), path: dotted(path), problem: `group "${host.group}" is not part of the mesh (hub, relays, uplinks, clients, admins): it cannot have a mesh_ip` });
    } else if (!inRange(host.group, host.meshIp)) {
      problems.push({ line: locate.line(path), path: dotted(path), problem: `${host.meshIp} is outside the ${host.group} range ${describeRange(host.group)}` });
    } else if (taken.has(host.meshIp)) {
      problems.push({ line: locate.line(path), path: dotted(path), problem: `${host.meshIp} is already the mesh IP of ${taken.get(host.meshIp)}` });
    } else taken.set(host.meshIp, host.name);
  }
  problems.push(...viaProblems(hosts, raw, locate));
  if (problems.length) fail(file, problems);
  for (const host of hosts) {
    if (host.meshIp || !isMeshGroup(host.group)) continue;
    const ip = lowestFree(host.group, new Set(taken.keys()));
    if (!ip) fail(file, [{ line: Number(host.source.split(":").pop()), path: dotted(["groups", host.group, "hosts", host.name]), problem: `the ${host.group} range ${describeRange(host.group)} is full` }]);
    host.meshIp = ip;
    taken.set(ip, host.name);
  }

  return {
    file,
    knownHosts: expandPath(file, raw.known_hosts ?? "known_hosts"),
    sshKey: raw.ssh_key ? expandPath(file, raw.ssh_key) : undefined,
    hosts,
    groups,
    vars: raw.vars ?? {},
  };
}

