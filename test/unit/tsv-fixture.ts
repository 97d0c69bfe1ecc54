// Rows of a behaviour fixture (a TSV with # comment lines, then a header line): one object per row, by column name.
import { readFileSync } from "node:fs";

export function fixtureRows(file: string): Record<string, string>[] {
  const lines = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l && !l.startsWith("#"));
  const head = lines[0].split("\t");
  return lines.slice(1).map((l) => Object.fromEntries(l.split("\t").map((c, i) => [head[i], c])));
}
