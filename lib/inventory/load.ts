// Reads an inventory file: UTF-8 YAML with positions, checked against inventory/schema.json and the known variables
// (inventory/known-vars.ts), groups, addresses and subnets checked, mesh IPs checked and allocated; -e merged on top.
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { homedir } from "node:os";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { UserError } from "../errors.ts";
import { VARS_SCHEMA } from "../../inventory/known-vars.ts";
import { inventoryProblems } from "./checks.ts";
import { closest, dotted, fail, Locator, type Problem } from "./locate.ts";
import { describeRange, inRange, isMeshGroup, lowestFree } from "./mesh-ip.ts";
import type { Host, Inventory, OsFamily } from "./types.ts";
import { mergeVars } from "./vars.ts";
import { decodeUtf8, parseInventoryYaml } from "./yaml-text.ts";

// The file's structure from inventory/schema.json; what `vars` may hold from the registry of known variables.
const schema = JSON.parse(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", "..", "inventory", "schema.json"), "utf8"),
);
schema.definitions.vars = VARS_SCHEMA;
// Compiled on first use, not at import: compiling takes about a second, which a command that only prints --help or
// refuses a flag should not pay.
let compiled: { validate: ValidateFunction; validateVars: ValidateFunction } | undefined;
function validators() {
  if (compiled) return compiled;
  const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
  compiled = {
    validate: ajv.compile(schema),
    validateVars: ajv.compile({ ...VARS_SCHEMA, definitions: schema.definitions }),
  };
  return compiled;
}

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

/** Where a key sits when it is a variable: the `vars` of the inventory, a group or a host (or the top of an -e). */
const isVarsPath = (path: string[]) =>
  path.length === 0 || (path[path.length - 1] === "vars" && [1, 3, 5].includes(path.length));

/** YAML 1.1's booleans, strings in YAML 1.2: refused where a boolean is expected, with what to write instead. */
const YAML11_BOOLEAN = /^(y|yes|n|no|on|off)$/i;

const typeWord = (t: string) =>
  t === "object"
    ? "a mapping (key: value)"
    : t === "array"
      ? "a list"
      : t === "null"
        ? "null"
        : t === "integer"
          ? "an integer (a whole number)"
          : `a ${t}`;

/** Lines come from the file's YAML; -e has none. */
type Lines = Pick<Locator, "line" | "keyLine">;
const NO_LINES: Lines = { line: () => undefined, keyLine: () => undefined };

function describeAjvError(e: ErrorObject, locate: Lines): Problem {
  const path = e.instancePath
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  const schemaNode = e.parentSchema as { description?: string; properties?: Record<string, unknown> } | undefined;
  switch (e.keyword) {
    case "additionalProperties": {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      const known = Object.keys(schemaNode?.properties ?? {});
      const hint = closest(key, known);
      const problem = isVarsPath(path)
        ? `unknown variable '${key}'${hint ? ` (did you mean '${hint}'?)` : ""}: no role reads it, so it would change nothing; expected a known variable (inventory/known-vars.ts lists them: the roles' defaults and the inventory's facts)`
        : `unknown key '${key}'${hint ? ` (did you mean '${hint}'?)` : ""}; expected one of: ${known.join(", ")}`;
      return { line: locate.keyLine(path, key), path: dotted([...path, key]), problem };
    }
    case "required": {
      const key = (e.params as { missingProperty: string }).missingProperty;
      return {
        line: locate.line(path),
        path: dotted(path),
        problem: `'${key}' is required${path.length ? "" : " at the top level"}`,
      };
    }
    case "propertyNames": {
      const name = (e.params as { propertyName: string }).propertyName;
      return {
        line: locate.keyLine(path, name),
        path: dotted([...path, name]),
        problem: `"${name}" is not a valid name: use lowercase letters, digits and '-', at most 63 characters`,
      };
    }
    case "type": {
      const types = ([] as string[]).concat((e.params as { type: string | string[] }).type);
      const yaml11 = types.includes("boolean") && typeof e.data === "string" && YAML11_BOOLEAN.test(e.data);
      const problem = yaml11
        ? `${JSON.stringify(e.data)} is a string here, not a boolean (the inventory is YAML 1.2, where only true and false are booleans; yes/no/on/off were booleans in YAML 1.1 only); write true or false`
        : `${JSON.stringify(e.data)} is not valid here: must be ${types.map(typeWord).join(" or ")}`;
      return { line: locate.line(path), path: dotted(path), problem };
    }
    case "enum":
      return {
        line: locate.line(path),
        path: dotted(path),
        problem: `${JSON.stringify(e.data)} is not valid: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(", ")}`,
      };
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
      return {
        line: locate.line(path),
        path: dotted(path),
        problem: `${e.message}${schemaNode?.description ? ` (${schemaNode.description})` : ""}, not ${JSON.stringify(e.data)}`,
      };
    case "pattern":
      return {
        line: locate.line(path),
        path: dotted(path),
        problem: `${JSON.stringify(e.data)} is not valid: must be ${schemaNode?.description ?? `matching ${(e.params as { pattern: string }).pattern}`}`,
      };
    default:
      return { line: locate.line(path), path: dotted(path), problem: e.message ?? e.keyword };
  }
}

/** Where a host's effective `ssh_via` was set (host vars > group vars > inventory vars), for messages. */
function viaPath(host: Host, raw: RawInventory): (string | number)[] {
  if (raw.groups[host.group]?.hosts?.[host.name]?.vars?.ssh_via !== undefined)
    return ["groups", host.group, "hosts", host.name, "vars", "ssh_via"];
  if (raw.groups[host.group]?.vars?.ssh_via !== undefined) return ["groups", host.group, "vars", "ssh_via"];
  return ["vars", "ssh_via"];
}

/** `ssh_via` names another host of the inventory, and following it from any host never comes back to that host. */
function viaProblems(hosts: Host[], raw: RawInventory, locate: Locator): Problem[] {
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const problems: Problem[] = [];
  for (const host of hosts) {
    const via = host.vars.ssh_via as string | undefined;
    if (via === undefined) continue;
    const path = viaPath(host, raw);
    const at = { line: locate.line(path), path: dotted(path) };
    if (via === host.name) {
      const inherited =
        path.length < 6
          ? ` (it inherits ssh_via from the ${path[0] === "vars" ? "inventory's" : "group's"} vars: set it only where the hosts behind ${via} get it)`
          : "";
      problems.push({
        ...at,
        problem: `${host.name} cannot be reached via itself${inherited}; expected the name of another host to jump through`,
      });
      continue;
    }
    if (!byName.has(via)) {
      const hint = closest(via, [...byName.keys()]);
      problems.push({
        ...at,
        problem: `${host.name} is to be reached via "${via}", which is not a host of this inventory${hint ? ` (did you mean '${hint}'?)` : ""}; hosts: ${[...byName.keys()].join(", ")}`,
      });
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
          problems.push({
            line: locate.line(path),
            path: dotted(path),
            problem: `the jumps loop: ${[...chain, next].join(" via ")}; expected a chain that ends at a host reached directly`,
          });
        }
        break;
      }
      chain.push(next);
    }
  }
  return problems;
}

const expandPath = (base: string, p: string) =>
  p.startsWith("~/") ? join(homedir(), p.slice(2)) : isAbsolute(p) ? p : resolve(dirname(base), p);

/**
 * -e values, checked as a `vars` layer: unknown names, types, bounds. Not `required`: a partial mapping
 * (-e bandwidth.up_mbit=3) completes each host's own (and a host with none, the hub, reads none).
 */
function extraVarsProblems(extraVars: Record<string, unknown>): string[] {
  const label = (e: ErrorObject) => `-e ${e.instancePath.split("/").slice(1).join(".") || "(top)"}`;
  const describe = (e: ErrorObject) => {
    const p = describeAjvError(e, NO_LINES);
    return `${p.path ? `-e ${p.path}` : label(e)}: ${p.problem}`;
  };
  const { validateVars } = validators();
  return validateVars(extraVars)
    ? []
    : (validateVars.errors ?? []).filter((e) => e.keyword !== "required" && e.keyword !== "if").map(describe);
}

export function loadInventory(fileArg: string, options: { extraVars?: Record<string, unknown> } = {}): Inventory {
  const file = resolve(fileArg);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new UserError(
      `cannot read the inventory ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`,
      "pass one with -i FILE",
    );
  }
  const decoded = decodeUtf8(bytes);
  if ("problem" in decoded) fail(file, [decoded.problem]);
  const parsed = parseInventoryYaml(decoded.text);
  if ("problems" in parsed) fail(file, parsed.problems);
  const { doc, lines, data } = parsed;
  const locate = new Locator(file, doc, lines);
  if (data === null || data === undefined)
    fail(file, [{ line: 1, path: "", problem: "the file is empty; expected a mapping with at least 'groups'" }]);
  if (typeof data !== "object" || Array.isArray(data))
    fail(file, [
      {
        line: locate.line([]),
        path: "",
        problem:
          "the top level must be a mapping with 'groups' (and optionally vars, ssh_key, known_hosts), not a list or a value",
      },
    ]);
  const { validate } = validators();
  if (!validate(data))
    fail(
      file,
      (validate.errors ?? []).filter((e) => e.keyword !== "if").map((e) => describeAjvError(e, locate)),
    );
  const raw = data as RawInventory;

  const problems: Problem[] = inventoryProblems(raw, locate);
  const seen = new Map<string, string>();
  const hosts: Host[] = [];
  const groups: Record<string, string[]> = {};
  for (const [groupName, group] of Object.entries(raw.groups)) {
    groups[groupName] = [];
    for (const [name, h] of Object.entries(group.hosts ?? {})) {
      const path = ["groups", groupName, "hosts", name];
      if (seen.has(name)) {
        problems.push({
          line: locate.keyLine(["groups", groupName, "hosts"], name),
          path: dotted(path),
          problem: `host "${name}" is already defined in group "${seen.get(name)}"; a host belongs to one group`,
        });
        continue;
      }
      seen.set(name, groupName);
      groups[groupName].push(name);
      // A node managed over the mesh has no address of its own: it is reached at its mesh IP, which must then be written out.
      if (h.address === undefined && h.mesh_ip === undefined) {
        problems.push({
          line: locate.line(path),
          path: dotted(path),
          problem: `no address and no mesh_ip: give the address the runner reaches it at, or (a node managed over the mesh) its mesh_ip`,
        });
      }
      hosts.push({
        name,
        address: h.address ?? h.mesh_ip ?? "",
        port: h.port ?? 22,
        user: h.user ?? "root",
        os: h.os,
        group: groupName,
        meshIp: h.mesh_ip,
        vars: mergeVars(raw.vars ?? {}, group.vars ?? {}, h.vars ?? {}, options.extraVars ?? {}),
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
      problems.push({
        line: locate.line(path),
        path: dotted(path),
        problem: `group "${host.group}" is not part of the mesh (hub, relays, uplinks, clients, admins): it cannot have a mesh_ip`,
      });
    } else if (!inRange(host.group, host.meshIp)) {
      problems.push({
        line: locate.line(path),
        path: dotted(path),
        problem: `${host.meshIp} is outside the ${host.group} range ${describeRange(host.group)}`,
      });
    } else if (taken.has(host.meshIp)) {
      problems.push({
        line: locate.line(path),
        path: dotted(path),
        problem: `${host.meshIp} is already the mesh IP of ${taken.get(host.meshIp)}`,
      });
    } else taken.set(host.meshIp, host.name);
  }
  problems.push(...viaProblems(hosts, raw, locate));
  if (problems.length) fail(file, problems);
  for (const host of hosts) {
    if (host.meshIp || !isMeshGroup(host.group)) continue;
    const ip = lowestFree(host.group, new Set(taken.keys()));
    if (!ip)
      fail(file, [
        {
          line: Number(host.source.split(":").pop()),
          path: dotted(["groups", host.group, "hosts", host.name]),
          problem: `the ${host.group} range ${describeRange(host.group)} is full`,
        },
      ]);
    host.meshIp = ip;
    taken.set(ip, host.name);
  }

  if (options.extraVars && Object.keys(options.extraVars).length) {
    const wrong = extraVarsProblems(options.extraVars);
    if (wrong.length)
      throw new UserError(
        wrong.length === 1 ? wrong[0] : `${wrong.length} problems with -e:\n${wrong.map((w) => `  ${w}`).join("\n")}`,
        "-e sets a known variable: -e name=value, or -e name.key=value inside a mapping (values are JSON when they parse as JSON)",
      );
  }

  return {
    file,
    knownHosts: expandPath(file, raw.known_hosts ?? "known_hosts"),
    sshKey: raw.ssh_key ? expandPath(file, raw.ssh_key) : undefined,
    sshKeySource: raw.ssh_key ? `${file}:${locate.keyLine([], "ssh_key") ?? "?"}` : undefined,
    hosts,
    groups,
    vars: raw.vars ?? {},
  };
}
