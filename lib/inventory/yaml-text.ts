// An inventory file's text and YAML, read so that nothing is guessed: the bytes must be UTF-8 (a Latin-1 file would
// garble a volunteer's name), every alias must have its anchor, aliases may not expand without bound (an "alias
// bomb"), keys are unique, and YAML 1.1's merge key is refused (this is YAML 1.2, where `<<` is a plain key).
// YAML 1.2 also reads yes/no/on/off as strings; where a boolean is expected the schema refuses them (load.ts).
import {
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
} from "yaml";
import { dotted, type Problem } from "./locate.ts";

/** Alias expansion beyond this many nodes is refused: an inventory reuses a few blocks, never thousands of nodes. */
const MAX_ALIAS_NODES = 10_000;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The text of a UTF-8 file, or the problem at its first line that is not UTF-8. */
export function decodeUtf8(bytes: Buffer): { text: string } | { problem: Problem } {
  try {
    return { text: utf8.decode(bytes) };
  } catch {
    let start = 0;
    for (let line = 1; ; line++) {
      const end = bytes.indexOf(0x0a, start);
      const slice = bytes.subarray(start, end === -1 ? bytes.length : end);
      try {
        utf8.decode(slice);
      } catch {
        const bad = [...slice].findIndex((b) => b >= 0x80);
        const shown = slice.toString("latin1").trim();
        return {
          problem: {
            line,
            path: "",
            problem: `the file is not UTF-8 (byte 0x${slice[bad]?.toString(16).toUpperCase()} at column ${bad + 1}; read as Latin-1 the line is ${JSON.stringify(shown)}); expected UTF-8: convert it (iconv -f latin1 -t utf-8) and check the names`,
          },
        };
      }
      if (end === -1) return { problem: { path: "", problem: "the file is not UTF-8; expected UTF-8" } };
      start = end + 1;
    }
  }
}

const lineOf = (lines: LineCounter, node: { range?: [number, number, number] | null }) =>
  node.range ? lines.linePos(node.range[0]).line : undefined;

/** Aliases without an anchor, aliases that expand too far, and merge keys. */
function aliasProblems(doc: Document, lines: LineCounter): Problem[] {
  const problems: Problem[] = [];
  const sizes = new Map<Node, number>();
  const open = new Set<Node>();
  const sizeOf = (node: unknown): number => {
    if (isAlias(node)) {
      const target = node.resolve(doc);
      return target ? sizeOf(target) : 1;
    }
    if (!isCollection(node)) return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    if (open.has(node)) return Infinity; // an alias inside its own anchor's node
    open.add(node);
    let n = 1;
    for (const item of node.items) n += isPair(item) ? sizeOf(item.key) + sizeOf(item.value) : sizeOf(item);
    open.delete(node);
    sizes.set(node, n);
    return n;
  };
  let expanded = 0;
  let reported = false;
  visit(doc, {
    Alias(_, node, path) {
      const at = { line: lineOf(lines, node), path: dotted(keysOf(path)) };
      const target = node.resolve(doc);
      if (!target) {
        problems.push({
          ...at,
          problem: `the alias *${node.source} has no anchor: no &${node.source} is set before it; expected an anchor (&${node.source}) on an earlier value, or the value itself`,
        });
        return;
      }
      expanded += sizeOf(target);
      if (expanded > MAX_ALIAS_NODES && !reported) {
        reported = true;
        problems.push({
          ...at,
          problem: `aliases expand to more than ${MAX_ALIAS_NODES} values (an alias of aliases of aliases: a "billion laughs" bomb?); expected aliases of small blocks, or the values written out`,
        });
      }
    },
    Pair(_, pair, path) {
      if (isScalar(pair.key) && pair.key.value === "<<") {
        problems.push({
          line: lineOf(lines, pair.key),
          path: dotted([...keysOf(path), "<<"]),
          problem:
            "merge keys (<<: *anchor) are YAML 1.1; this inventory is YAML 1.2: write the keys out, or alias the whole value",
        });
      }
    },
  });
  return problems;
}

/** The map keys along a visitor's path, for messages ("groups.uplinks.vars"). */
function keysOf(path: readonly unknown[]): (string | number)[] {
  const keys: (string | number)[] = [];
  for (let i = 0; i < path.length; i++) {
    const node = path[i];
    if (isPair(node) && isScalar(node.key)) keys.push(String(node.key.value));
    else if (isCollection(node) && !isMap(node)) {
      const next = path[i + 1];
      const index = node.items.indexOf(next as never);
      if (index >= 0) keys.push(index);
    }
  }
  return keys;
}

const SYNTAX: Record<string, string> = {
  DUPLICATE_KEY: "a key appears twice in the same mapping; expected each key once (the second would silently win)",
  TAB_AS_INDENT: "tabs cannot indent YAML; use spaces",
};

/** The document, its lines and its plain value; or every problem found on the way. */
export function parseInventoryYaml(
  text: string,
): { doc: Document; lines: LineCounter; data: unknown } | { problems: Problem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length) {
    return {
      problems: doc.errors.map((e) => ({
        line: e.linePos?.[0]?.line,
        path: "",
        problem: `YAML syntax: ${SYNTAX[e.code] ?? e.message.split("\n")[0]}`,
      })),
    };
  }
  const problems = aliasProblems(doc, lines);
  if (problems.length) return { problems };
  // Expansion is bounded above; yaml's own heuristic limit would refuse some inventories the check above allows.
  return { doc, lines, data: doc.toJS({ maxAliasCount: -1 }) };
}
