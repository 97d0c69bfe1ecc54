// One UCI section on an OpenWrt host (/etc/config/<config>), exactly as asked: its type and options and nothing else,
// or absent. Read with `uci -q show`, written with uci set/delete and `uci commit` (uci stages changes in /tmp/.uci,
// a tmpfs, until then: only a commit puts them in the file). /etc/config is kept across a sysupgrade, so the section is too.
import { defineFact, type Fact } from "../facts/fact.ts";
import { join, raw, sh, type Command } from "../command.ts";
import type { Resource, ResourceOptions } from "./resource.ts";

export interface UciSection {
  type: string;
  /** Options and lists (a list as string[]), in uci's order. */
  options: Record<string, string | string[]>;
}

export interface UciSectionSpec extends ResourceOptions {
  config: string;
  section: string;
  /** The section's type and options; absent: the section must not exist. */
  want: { type: string; options: Record<string, string> } | { absent: true };
  /** Commands run right after a commit that changed the section (e.g. reload the service that reads it). */
  then?: Command[];
}

const NAME = /^[A-Za-z0-9_]+$/;

/** One value of `uci show` ('...' with ' written as '\''), or several for a list ('a' 'b'). */
export function parseUciValues(text: string): string[] {
  const values: string[] = [];
  let cur = "";
  let inQuote = false;
  let has = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuote) {
      if (c === "'") inQuote = false;
      else cur += c;
    } else if (c === "'") {
      inQuote = true;
      has = true;
    } else if (c === "\\" && i + 1 < text.length) {
      cur += text[++i];
      has = true;
    } else if (c === " ") {
      if (has) values.push(cur);
      cur = "";
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) values.push(cur);
  return values;
}

/** `uci show config.section` output (null when the section is missing). Exported for the table-driven tests. */
export function parseUciShow(stdout: string, config: string, section: string): UciSection | null {
  const head = `${config}.${section}`;
  let found: UciSection | null = null;
  for (const line of stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq === -1) continue;
    const path = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (path === head) found = { type: value, options: {} };
    else if (found && path.startsWith(`${head}.`)) {
      const values = parseUciValues(value);
      // uci show prints a list on one line, each value quoted: a list of one reads as an option (uci shows them alike).
      found.options[path.slice(head.length + 1)] = values.length === 1 ? values[0] : values;
    }
  }
  return found;
}

export const uciSectionFact = (config: string, section: string): Fact<UciSection | null> =>
  defineFact(`uci:${config}.${section}`, sh`uci -q show ${`${config}.${section}`}`, ({ stdout, code }) =>
    code === 0 ? parseUciShow(stdout, config, section) : null,
  );

const describe = (o: Record<string, string | string[]>) =>
  Object.entries(o)
    .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(",") : v}`)
    .join(", ");

/** What differs between the section now and as wanted, one phrase each (empty: nothing). */
function uciChanges(now: UciSection | null, want: UciSectionSpec["want"], where: string): string[] {
  if ("absent" in want) return now ? [`delete ${where}`] : [];
  if (!now) return [`create ${where} (${want.type}: ${describe(want.options)})`];
  const changes: string[] = [];
  if (now.type !== want.type) changes.push(`type ${now.type} -> ${want.type}`);
  for (const [k, v] of Object.entries(want.options)) {
    const have = now.options[k];
    if (have === undefined) changes.push(`${k} ${v}`);
    else if (have !== v) changes.push(`${k} ${Array.isArray(have) ? have.join(",") : have} -> ${v}`);
  }
  for (const k of Object.keys(now.options)) if (!(k in want.options)) changes.push(`remove ${k}`);
  return changes;
}

export function uciSection(spec: UciSectionSpec): Resource {
  const { config, section, want } = spec;
  for (const [what, value] of [
    ["config", config],
    ["section", section],
    ...("absent" in want ? [] : Object.keys(want.options).map((k) => ["option", k])),
  ])
    if (!NAME.test(value))
      throw new Error(
        `uci section ${config}.${section}: ${what} name ${JSON.stringify(value)} is not a UCI name (letters, digits, _)`,
      );
  const where = `${config}.${section}`;
  const fact = uciSectionFact(config, section);
  return {
    name: "absent" in want ? `Remove UCI section ${where}` : `Configure UCI section ${where}`,
    notify: spec.notify,
    tags: spec.tags,
    provides: { file: `/etc/config/${config}` },
    facts: [fact],
    plan(read) {
      const now = read(fact);
      const changes = uciChanges(now, want, where);
      if (!changes.length) return null;
      // The whole section is written anew, so an option left from before goes too; one commit applies it all.
      const commands: Command[] = [];
      if (now) commands.push(join([raw("{"), sh`uci -q delete ${where}`, raw("|| true; }")], " "));
      if (!("absent" in want)) {
        commands.push(sh`uci set ${`${where}=${want.type}`}`);
        for (const [k, v] of Object.entries(want.options)) commands.push(sh`uci set ${`${where}.${k}=${v}`}`);
      }
      commands.push(sh`uci commit ${config}`, ...(spec.then ?? []));
      return { commands, summary: changes.join(", ") };
    },
  };
}
