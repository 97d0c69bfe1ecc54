// Where a problem in an inventory file is (the line of a YAML node), and how several problems become one error.
import { isMap, isScalar, type Document, type LineCounter, type Node } from "yaml";
import { InventoryError } from "../errors.ts";

export interface Problem {
  line?: number;
  path: string;
  problem: string;
}

export const dotted = (path: (string | number)[]) => path.join(".");

/** One problem, located: the line of the YAML node at `path` (or its nearest parent that exists). */
export class Locator {
  constructor(
    readonly file: string,
    readonly doc: Document,
    readonly lines: LineCounter,
  ) {}
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
  at(path: (string | number)[], problem: string): Problem {
    return { line: this.line(path), path: dotted(path), problem };
  }
}

/** The nearest of `options` to a misspelt `word` (at most two edits away), for "did you mean ...?". */
export function closest(word: string, options: string[]): string | undefined {
  const distance = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++)
        d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length][b.length];
  };
  const best = options.map((o) => ({ o, d: distance(word, o) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= 2 ? best.o : undefined;
}

/** Throws one InventoryError listing every problem, by line. */
export function fail(file: string, problems: Problem[]): never {
  const unique = [...new Map(problems.map((p) => [`${p.line}|${p.path}|${p.problem}`, p])).values()].sort(
    (a, b) => (a.line ?? 0) - (b.line ?? 0),
  );
  const error = new InventoryError(file, unique[0].line, unique[0].path, unique[0].problem);
  if (unique.length > 1)
    error.message = `${file}: ${unique.length} problems:\n${unique.map((p) => `  ${file}${p.line ? `:${p.line}` : ""}: ${p.path ? `${p.path}: ` : ""}${p.problem}`).join("\n")}`;
  throw error;
}
