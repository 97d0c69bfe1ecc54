// Vitest's global setup: the suite's temporary files go in one directory of their own, removed when the run ends, so
// that runs do not pile meshisp-* directories into /tmp (tests make them with mkdtemp under os.tmpdir(), which reads
// TMPDIR; the test workers and every process they start inherit it).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "meshisp-suite-"));
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
