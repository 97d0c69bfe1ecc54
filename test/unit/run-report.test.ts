// What a run says at its end (the verdict line after the recap) and how -v reads a file write.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Host, Inventory } from "../../lib/inventory/types.ts";
import { file } from "../../lib/resources/file.ts";
import { writeFileCommand } from "../../lib/resources/write-file.ts";
import { runHost } from "../../lib/runner/host-run.ts";
import { RecordingReporter, verdict, type HostRecap } from "../../lib/runner/report.ts";
import { shellTransport } from "../helpers/shell-transport.ts";

const recap = (host: string, over: Partial<HostRecap> = {}): HostRecap => ({
  host,
  ok: 5,
  changed: 0,
  failed: 0,
  skipped: 0,
  unreachable: false,
  roundTrips: 3,
  ...over,
});

const CASES: { name: string; recaps: HostRecap[]; check?: boolean; interrupted?: boolean; says: string }[] = [
  {
    name: "all converged",
    recaps: [recap("hub", { changed: 3 }), recap("uplink-1", { changed: 1 }), recap("uplink-2")],
    says: "done: 3 hosts, 2 changed (4 changes), 0 failed",
  },
  { name: "nothing to do", recaps: [recap("hub")], says: "done: 1 host, 0 changed (0 changes), 0 failed" },
  {
    name: "check mode with changes",
    check: true,
    recaps: [recap("hub", { changed: 3 }), recap("uplink-1", { changed: 1 }), recap("uplink-2")],
    says: "check mode: 4 changes would be made on 2 of 3 hosts; nothing was changed",
  },
  { name: "check mode, nothing", check: true, recaps: [recap("hub")], says: "check mode: nothing to change on 1 host" },
  {
    name: "a host failed and one unreachable",
    recaps: [
      recap("hub", { changed: 2 }),
      recap("uplink-1", { failed: 1, error: "x" }),
      recap("uplink-2", { unreachable: true, error: "down" }),
    ],
    says: "FAILED: 1 failed (uplink-1), 1 unreachable (uplink-2) of 3 hosts; 1 fine, 2 changes made; the messages above say what to do",
  },
  {
    name: "check mode with a host unreachable",
    check: true,
    recaps: [recap("hub", { changed: 1 }), recap("uplink-2", { unreachable: true })],
    says: "FAILED (check mode): 1 unreachable (uplink-2) of 2 hosts; 1 fine; the messages above say what to do",
  },
  {
    name: "interrupted",
    interrupted: true,
    recaps: [recap("hub", { changed: 2 }), recap("uplink-1", { interrupted: true })],
    says: "interrupted: 2 hosts ran (uplink-1 stopped before their changes), 2 changes made; the rest was not started",
  },
];

describe("verdict", () => {
  it.each(CASES)("$name", ({ recaps, check, interrupted, says }) =>
    expect(verdict(recaps, { check, interrupted })).toBe(says),
  );
});

describe("a file write under -v", () => {
  it("reads as path, size, hash and mode, not printf text", () => {
    const c = writeFileCommand({ path: "/etc/x", content: "hello\n", mode: "0600", owner: "root" });
    expect(c.describe()).toBe("write /etc/x (6 bytes, sha256 5891b5b5…, mode 0600, owner root)");
    expect(c.display()).toMatch(/printf/);
  });
  it("a secret's hash is not shown (a short secret could be guessed from it), nor its content", () => {
    const c = writeFileCommand({ path: "/etc/meshisp/key", content: "hunter2", secret: true });
    expect(c.describe()).toBe("write /etc/meshisp/key (7 bytes, secret)");
    expect(c.describe()).not.toMatch(/hunter2|[0-9a-f]{8}…/);
  });
});

describe("a failed file write", () => {
  it("is reported with the write as people read it, not its printf text", async () => {
    const root = mkdtempSync(join(tmpdir(), "meshisp-report-"));
    const host: Host = { name: "d1", address: "local", port: 22, user: "root", group: "bench", vars: {}, source: "t" };
    const inventory = { file: "t", knownHosts: "", hosts: [host] } as unknown as Inventory;
    const target = join(root, "missing-dir", "x.conf");
    const play = {
      name: "p",
      hosts: ["all"],
      roles: [{ name: "r", defaults: {}, tasks: () => [file({ path: target, content: "abc" })] }],
    };
    const transport = shellTransport("dash", { stateDir: join(root, "state") });
    const recap = await runHost(play, host, inventory, async () => transport, {}, new RecordingReporter());
    expect(recap.failed).toBe(1);
    expect(recap.error).toMatch(
      new RegExp(
        `^d1: Write ${target}: command failed with exit code \\d+: write ${target} \\(3 bytes, sha256 [0-9a-f]{8}…, mode 0644\\)`,
      ),
    );
    expect(recap.error).not.toMatch(/printf/);
  });
});
