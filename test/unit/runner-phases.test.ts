// The runner against a real shell (dash, and BusyBox ash with only OpenWrt's applets): gather/apply protocol, installs
// before configuration in one run (phase 2 sees the installed tool), handlers kept across phases and failures, --check.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { raw, sh } from "../../lib/command.ts";
import { UserError } from "../../lib/errors.ts";
import { defineFact } from "../../lib/facts/fact.ts";
import type { Host, Inventory } from "../../lib/inventory/types.ts";
import type { Play } from "../../lib/play.ts";
import { packages } from "../../lib/resources/package.ts";
import type { Resource } from "../../lib/resources/resource.ts";
import { runHost, type RunOptions } from "../../lib/runner/host-run.ts";
import { RecordingReporter } from "../../lib/runner/report.ts";
import { SHELL_KINDS, shellTransport, type ShellKind } from "../helpers/shell-transport.ts";

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

/**
 * A host in a temp dir: a fake opkg whose `install mytool` puts a `mytool` command on PATH (as opkg install ip-full
 * brings `ip -j`), and the engine's state dir moved inside the temp dir. Commands run under the given shell (a real
 * process: the runner's own LocalTransport, injected through runHost's connect).
 */
function fakeHost(shell: ShellKind) {
  const root = mkdtempSync(join(tmpdir(), "phases-"));
  roots.push(root);
  const bin = join(root, "bin");
  mkdirSync(bin);
  writeFileSync(join(root, "installed"), "busybox - 1.36.1-1\n");
  writeFileSync(
    join(bin, "opkg"),
    [
      "#!/bin/sh",
      `R=${root}`,
      `case "$1" in`,
      `  list-installed) cat "$R/installed" ;;`,
      `  update) : ;;`,
      `  install) [ -e "$R/broken-feed" ] && { echo "Unknown package '$2'." >&2; exit 255; }`,
      `    echo "$2 - 1.0-1" >> "$R/installed"`,
      `    printf '#!/bin/sh\\ncase "$1" in configure) echo yes > %s/configured ;; *) cat %s/configured 2>/dev/null || echo unconfigured ;; esac\\n' "$R" "$R" > "$R/bin/$2"; chmod +x "$R/bin/$2" ;;`,
      `esac`,
    ].join("\n"),
  );
  chmodSync(join(bin, "opkg"), 0o755);
  const transport = shellTransport(shell, { extraPath: [bin], stateDir: join(root, "state") });
  return { root, transport, file: (name: string) => join(root, name) };
}

/** A resource that needs `mytool` (as the routing role needs ip -j): absent before it is installed. */
const configured = (): Resource => {
  const state = defineFact(
    "mytool:state",
    raw(`if command -v mytool >/dev/null 2>&1; then mytool; else echo absent; fi`),
    ({ stdout }) => stdout.trim(),
  );
  return {
    name: "Configure mytool",
    facts: [state],
    notify: ["restart mytool"],
    plan: (read) =>
      read(state) === "yes"
        ? null
        : {
            commands: [sh`mytool configure`],
            summary: read(state) === "absent" ? "create (mytool not installed yet)" : "configure",
          },
  };
};

const play = (root: string): Play => ({
  name: "phases",
  hosts: ["all"],
  roles: [
    {
      name: "mytool",
      defaults: {},
      tasks: () => [packages({ names: ["mytool"], os: "openwrt", notify: ["restart mytool"] }), configured()],
      handlers: () => [{ name: "restart mytool", command: sh`echo restarted >> ${join(root, "restarts")}` }],
    },
  ],
});

// os: what identify finds here, under dash and under BusyBox alike (this machine's /etc/debian_version).
const host: Host = {
  name: "r1",
  address: "local",
  port: 22,
  user: "root",
  group: "uplinks",
  os: "debian",
  vars: {},
  source: "test",
};
const inventory = { file: "test", knownHosts: "", hosts: [host] } as unknown as Inventory;

async function converge(h: ReturnType<typeof fakeHost>, options: RunOptions = {}, thePlay = play(h.root)) {
  const reporter = new RecordingReporter();
  const recap = await runHost(thePlay, host, inventory, async () => h.transport, options, reporter);
  return { recap, events: reporter.events, notices: reporter.notices };
}

const read = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : "");

for (const shell of SHELL_KINDS) {
  describe(`runner phases under ${shell}`, () => {
    it("check mode on a fresh host: both changes reported, nothing installed, one gather", async () => {
      const h = fakeHost(shell);
      const { recap, events } = await converge(h, { check: true });
      expect(recap.failed, recap.error).toBe(0);
      expect(recap.changed).toBe(2);
      expect(events.find((e) => e.task === "Configure mytool")).toMatchObject({
        status: "changed",
        summary: "create (mytool not installed yet)",
      });
      expect(events.find((e) => e.task === "handler: restart mytool")).toMatchObject({ summary: "would run" });
      expect(read(h.file("installed"))).not.toContain("mytool");
      // Who the host is and the tasks' facts in one round trip (the inventory's os was right: lib/runner/first-gather.ts).
      expect(recap.roundTrips).toBe(1);
    });

    it("installs, then configures with the installed tool in the same run; the handler runs once; the second run changes nothing", async () => {
      const h = fakeHost(shell);
      const first = await converge(h);
      expect(first.recap.failed, first.recap.error).toBe(0);
      expect(first.events.filter((e) => e.status === "changed").map((e) => e.task)).toEqual([
        "Install mytool",
        "Configure mytool",
        "handler: restart mytool",
      ]);
      expect(first.events.find((e) => e.task === "Configure mytool")?.summary).toBe("configure");
      expect(read(h.file("configured")).trim()).toBe("yes");
      expect(read(h.file("restarts"))).toBe("restarted\n");
      expect(existsSync(h.file("state/pending-handlers"))).toBe(false);
      expect(first.notices).toEqual([]);
      // identify + gather, install, identify + gather (guessed from the first: one trip), apply.
      expect(first.recap.roundTrips).toBe(4);

      const second = await converge(h);
      expect(second.recap).toMatchObject({ changed: 0, failed: 0, ok: 2, roundTrips: 1 });
    });

    it("a failed install keeps the handler it notified pending; the next run installs, configures and runs it", async () => {
      const h = fakeHost(shell);
      writeFileSync(h.file("broken-feed"), "");
      const failing = await converge(h);
      expect(failing.recap.failed).toBe(1);
      expect(failing.recap.error).toMatch(/Install mytool[\s\S]*Unknown package/);
      expect(read(h.file("state/pending-handlers"))).toBe("restart mytool\n");
      expect(read(h.file("restarts"))).toBe("");

      rmSync(h.file("broken-feed"));
      const next = await converge(h);
      expect(next.recap.failed, next.recap.error).toBe(0);
      expect(read(h.file("restarts"))).toBe("restarted\n");
      expect(existsSync(h.file("state/pending-handlers"))).toBe(false);
    });

    it("a handler pending from an earlier failed run runs on a no-op run, and says so", async () => {
      const h = fakeHost(shell);
      await converge(h);
      mkdirSync(h.file("state"), { recursive: true });
      writeFileSync(h.file("state/pending-handlers"), "restart mytool\n");
      const run = await converge(h);
      expect(run.recap).toMatchObject({ changed: 1, failed: 0, roundTrips: 2 });
      expect(run.notices.map((n) => n.message)).toEqual([expect.stringMatching(/pending from an earlier run/)]);
      expect(read(h.file("restarts"))).toBe("restarted\nrestarted\n");
    });
  });
}

describe("planning errors end the host's run with what the plan had found so far", () => {
  const seen = defineFact("seen", raw("echo yes"), ({ stdout }) => stdout.trim());
  const reads = (name: string, declared: boolean): Resource => ({
    name,
    facts: declared ? [seen] : [],
    plan: (r) => (r(seen) === "yes" ? null : { commands: [sh`false`] }),
  });
  const tasks = (...resources: Resource[]): Play => ({
    name: "p",
    hosts: ["all"],
    roles: [{ name: "r", defaults: {}, tasks: () => resources }],
  });

  it("a resource that reads a fact it does not declare fails the host, even when another task gathered that fact", async () => {
    const h = fakeHost("dash");
    const { recap, events } = await converge(h, {}, tasks(reads("Declares it", true), reads("Borrows it", false)));
    expect(recap).toMatchObject({ ok: 1, changed: 0, failed: 1, roundTrips: 1 });
    expect(recap.error).toMatch(/"Borrows it" read fact seen, which it does not declare/);
    expect(events.map((e) => [e.task, e.status])).toEqual([
      ["Declares it", "ok"],
      ["internal error", "failed"],
    ]);
  });

  it("a plan refused for a user's mistake: the tasks before it are ok, the host failed at plan, nothing applied", async () => {
    const h = fakeHost("dash");
    const refused: Resource = {
      name: "Refuse",
      facts: [],
      plan: () => {
        throw new UserError("r1: bad value", "fix it");
      },
    };
    const marker = h.file("applied");
    const after: Resource = { name: "After", facts: [], plan: () => ({ commands: [sh`touch ${marker}`] }) };
    const { recap, events } = await converge(h, {}, tasks(reads("First", true), refused, after));
    expect(recap).toMatchObject({ ok: 1, changed: 0, failed: 1, roundTrips: 1 });
    expect(events.map((e) => [e.task, e.status])).toEqual([
      ["First", "ok"],
      ["plan", "failed"],
    ]);
    expect(recap.error).toMatch(/bad value/);
    expect(existsSync(marker)).toBe(false);
  });
});
