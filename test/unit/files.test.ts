// Path facts without `stat`: ls -ldn's mode string, numeric ids mapped to names, the hash; parsed from BusyBox's and GNU's ls, and run live under ash and dash.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { modeFromLs, parsePathProbe, pathFact } from "../../lib/facts/files.ts";
import { gatherScript } from "../../lib/runner/script.ts";
import { shells } from "../openwrt-shell.ts";

// Captured on this machine with `busybox ls -ldn` (Debian's BusyBox 1.35) and GNU ls 9.1, same files.
const CAPTURED = [
  { line: "-rw-r--r--    1 0        0                0 Dec  2 00:50 a644", mode: "0644" },
  { line: "-rw-r--r-- 1 0 0 0 Dec  2 00:50 a644", mode: "0644" },
  { line: "-rw-------    1 65534    65534            0 Dec  2 00:50 a600", mode: "0600" },
  { line: "-rw------- 1 65534 65534 0 Dec  2 00:50 a600", mode: "0600" },
  { line: "-rwsr-xr-x    1 0        0                0 Dec  2 00:50 s4755", mode: "4755" },
  { line: "-rwSr--r-- 1 0 0 0 Dec  2 00:50 S4644", mode: "4644" },
  { line: "-rwxr-sr-x    1 0        0                0 Dec  2 00:50 g2755", mode: "2755" },
  { line: "drwxrwxrwt    2 0        0             4096 Dec  2 00:50 t1777", mode: "1777" },
  { line: "drwxrwx--T 2 0 0 4096 Dec  2 00:50 T1770", mode: "1770" },
  { line: "drwxr-xr-x    2 0        0             4096 Dec  2 00:50 d755", mode: "0755" },
  { line: "lrwxrwxrwx 1 0 0 4 Dec  2 00:50 link -> a644", mode: "0777" },
  { line: "prw-r--r--    1 0        0                0 Dec  2 00:50 fifo", mode: "0644" },
  { line: `-rw-r----- 1 0 0 0 Dec  2 00:50 sp ace 'q"uote`, mode: "0640" },
  // GNU ls marks an SELinux context or an ACL after the mode.
  { line: "-rw-r--r--. 1 0 0 0 Dec  2 00:50 selinux", mode: "0644" },
  { line: "-rwxrwx---+ 1 0 0 0 Dec  2 00:50 acl", mode: "0770" },
  { line: "total 0", mode: undefined },
  { line: "", mode: undefined },
];

describe("modeFromLs", () => {
  it.each(CAPTURED)("$line -> $mode", ({ line, mode }) => {
    expect(modeFromLs(line.split(/\s+/)[0])).toBe(mode);
  });
});

describe("parsePathProbe", () => {
  it.each([
    { name: "absent", out: "absent\n", want: { exists: false } },
    { name: "empty output (probe cut)", out: "", want: { exists: false } },
    {
      name: "file",
      out: "file\n-rw------- 0\nroot\nroot\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n",
      want: {
        exists: true,
        type: "file",
        mode: "0600",
        owner: "root",
        group: "root",
        size: 0,
        sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      },
    },
    {
      name: "directory, unnamed ids",
      out: "directory\ndrwxrwxrwt 4096\n4242\n4243\n",
      want: {
        exists: true,
        type: "directory",
        mode: "1777",
        owner: "4242",
        group: "4243",
        size: 4096,
        sha256: undefined,
      },
    },
    {
      name: "device: no size",
      out: "other\ncrw-rw-rw- 1,\nroot\nroot\n",
      want: { exists: true, type: "other", mode: "0666", owner: "root", group: "root", sha256: undefined },
    },
  ])("$name", ({ out, want }) => {
    expect(parsePathProbe(out)).toEqual(want);
  });
});

describe("pathFact on real files", () => {
  const dir = mkdtempSync(join(tmpdir(), "pathfact-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const make = (name: string, mode: number, content: string | null, owner?: [number, number]) => {
    const p = join(dir, name);
    if (content === null) mkdirSync(p);
    else writeFileSync(p, content);
    chmodSync(p, mode);
    if (owner) chownSync(p, ...owner);
    return p;
  };
  const sha = (text: string) => createHash("sha256").update(text).digest("hex");
  const nobody = execFileSync("awk", ["-F:", "$3 == 65534 { print $1; exit }", "/etc/passwd"]).toString().trim();
  const nogroup = execFileSync("awk", ["-F:", "$3 == 65534 { print $1; exit }", "/etc/group"]).toString().trim();
  const cases = [
    {
      path: make("a644", 0o644, "hello\n"),
      want: { type: "file", mode: "0644", owner: "root", group: "root", size: 6, sha256: sha("hello\n") },
    },
    {
      path: make("a600", 0o600, "", [65534, 65534]),
      want: { type: "file", mode: "0600", owner: nobody, group: nogroup, size: 0, sha256: sha("") },
    },
    { path: make("s4755", 0o4755, "x"), want: { type: "file", mode: "4755", sha256: sha("x") } },
    { path: make("t1777", 0o1777, null), want: { type: "directory", mode: "1777", sha256: undefined } },
    {
      path: make("d750", 0o750, null, [4242, 4243]),
      want: { type: "directory", mode: "0750", owner: "4242", group: "4243" },
    },
    { path: make(`sp ace 'q"uote *`, 0o640, "q"), want: { type: "file", mode: "0640", size: 1, sha256: sha("q") } },
    { path: make("-dash", 0o644, "d"), want: { type: "file", mode: "0644", sha256: sha("d") } },
    {
      path: (symlinkSync("a644", join(dir, "link")), join(dir, "link")),
      want: { type: "link", mode: "0777", sha256: undefined },
    },
    { path: join(dir, "missing"), want: undefined },
  ];
  for (const shell of shells()) {
    it(`${shell.name}: every case in one gather script`, () => {
      const facts = cases.map((c) => pathFact(c.path));
      const { script, parse } = gatherScript(facts);
      const out = parse(shell.run(script.render()).stdout);
      cases.forEach((c, i) => {
        const got = facts[i].parse(out.get(facts[i].key)!);
        if (!c.want) expect(got, c.path).toEqual({ exists: false });
        else expect(got, c.path).toMatchObject({ exists: true, ...c.want });
      });
    });
  }
});
