// Table-driven plans: raw probe output in, commands out (and no commands when the host already is as asked).
import { describe, expect, it } from "vitest";
import { file } from "../../lib/resources/file.ts";
import { directory } from "../../lib/resources/directory.ts";
import { editLines, lineInFile } from "../../lib/resources/line.ts";
import { sysctl } from "../../lib/resources/sysctl.ts";
import { service } from "../../lib/resources/service.ts";
import { packages } from "../../lib/resources/package.ts";
import { guardedCommand } from "../../lib/resources/command.ts";
import { nftTable, nftTableStamp } from "../../lib/resources/nft-table.ts";
import { sh } from "../../lib/command.ts";
import type { Resource } from "../../lib/resources/resource.ts";
import { commandsWithProbes, type ProbeResult } from "../helpers/plan.ts";

const HELLO_SHA = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"; // sha256("hello\n")

/** Probe outputs keyed by fact key; every fact a resource declares must have one (and it may read no other). */
const plan = commandsWithProbes;

const cases: { name: string; resource: Resource; probes: Record<string, ProbeResult>; expect: null | RegExp[] }[] = [
  {
    name: "file absent -> written atomically",
    resource: file({ path: "/etc/x", content: "hello\n" }),
    probes: { "path:/etc/x": "absent\n" },
    expect: [
      /printf 'hello\\012' >> \/etc\/\.x\.meshisp-new.*sha256sum.*chmod 0644.*mv -f \/etc\/\.x\.meshisp-new \/etc\/x/,
    ],
  },
  {
    name: "file identical -> nothing",
    resource: file({ path: "/etc/x", content: "hello\n" }),
    probes: { "path:/etc/x": `file\n-rw-r--r-- 6\nroot\nroot\n${HELLO_SHA}\n` },
    expect: null,
  },
  {
    name: "file identical, wrong mode -> chmod only",
    resource: file({ path: "/etc/x", content: "hello\n", mode: "0600" }),
    probes: { "path:/etc/x": `file\n-rw-r--r-- 6\nroot\nroot\n${HELLO_SHA}\n` },
    expect: [/^chmod 0600 \/etc\/x$/],
  },
  {
    name: "file differs -> rewritten",
    resource: file({ path: "/etc/x", content: "hello\n" }),
    probes: { "path:/etc/x": `file\n-rw-r--r-- 4\nroot\nroot\nabc\n` },
    expect: [/mv -f/],
  },
  {
    name: "secret file content is masked",
    resource: file({ path: "/etc/k", content: "PRIVATE\n", secret: true, mode: "0600" }),
    probes: { "path:/etc/k": "absent\n" },
    expect: [/printf \*\*\* >>/],
  },
  {
    name: "file to remove, present",
    resource: file({ path: "/etc/x", absent: true }),
    probes: { "path:/etc/x": `file\n-rw-r--r-- 6\nroot\nroot\n${HELLO_SHA}\n` },
    expect: [/^rm -rf \/etc\/x$/],
  },
  {
    name: "file to remove, absent",
    resource: file({ path: "/etc/x", absent: true }),
    probes: { "path:/etc/x": "absent\n" },
    expect: null,
  },
  {
    name: "directory missing",
    resource: directory({ path: "/etc/d", mode: "0700" }),
    probes: { "path:/etc/d": "absent\n" },
    expect: [/^mkdir -p \/etc\/d$/, /^chmod 0700 \/etc\/d$/],
  },
  {
    name: "directory present",
    resource: directory({ path: "/etc/d", mode: "0700" }),
    probes: { "path:/etc/d": "directory\ndrwx------ 4096\nroot\nroot\n" },
    expect: null,
  },
  {
    name: "line missing -> file rewritten with it",
    resource: lineInFile({ path: "/etc/hosts", line: "127.0.1.1 hub", match: /^127\.0\.1\.1\s/ }),
    probes: {
      "content:/etc/hosts": "127.0.0.1 localhost\n",
      "path:/etc/hosts": "file\n-rw-r--r-- 20\nroot\nroot\nab\n",
    },
    expect: [/127\.0\.1\.1 hub.*mv -f/],
  },
  {
    name: "line present -> nothing",
    resource: lineInFile({ path: "/etc/hosts", line: "127.0.1.1 hub", match: /^127\.0\.1\.1\s/ }),
    probes: {
      "content:/etc/hosts": "127.0.0.1 localhost\n127.0.1.1 hub\n",
      "path:/etc/hosts": "file\n-rw-r--r-- 20\nroot\nroot\nab\n",
    },
    expect: null,
  },
  {
    name: "sysctl differs and not persisted",
    resource: sysctl({ key: "net.ipv4.ip_forward", value: 1 }),
    probes: { "sysctl:net.ipv4.ip_forward": "0\n", "content:/etc/sysctl.d/90-meshisp.conf": ["", 3] },
    expect: [
      /^echo 1 > \/proc\/sys\/net\/ipv4\/ip_forward$/,
      /^mkdir -p \/etc\/sysctl\.d$/,
      /net\.ipv4\.ip_forward = 1/,
    ],
  },
  {
    name: "sysctl set and persisted",
    resource: sysctl({ key: "net.ipv4.ip_forward", value: 1 }),
    probes: {
      "sysctl:net.ipv4.ip_forward": "1\n",
      "content:/etc/sysctl.d/90-meshisp.conf": "net.ipv4.ip_forward = 1\n",
    },
    expect: null,
  },
  {
    name: "systemd service stopped and disabled",
    resource: service({ name: "nebula", init: "systemd" }),
    probes: { "service:systemd:nebula": "exists\ndisabled\ninactive\n" },
    expect: [/^systemctl enable nebula$/, /^systemctl start nebula$/],
  },
  {
    name: "systemd service fine",
    resource: service({ name: "nebula", init: "systemd" }),
    probes: { "service:systemd:nebula": "exists\nenabled\nactive\n" },
    expect: null,
  },
  {
    name: "init.d service (procd) not enabled, running",
    resource: service({ name: "nebula", init: "initd" }),
    probes: { "service:initd:nebula": "exists\nactive\n" },
    expect: [/^\/etc\/init\.d\/nebula enable$/],
  },
  {
    name: "init.d service to stop",
    resource: service({ name: "x", init: "initd", state: "stopped", enabled: false }),
    probes: { "service:initd:x": "exists\nenabled\nactive\n" },
    expect: [/^\/etc\/init\.d\/x disable$/, /^\/etc\/init\.d\/x stop$/],
  },
  {
    name: "apt package missing",
    resource: packages({ names: ["nebula", "iperf3"], os: "debian" }),
    probes: { "packages:apt:iperf3,nebula": "iperf3 ii \n" },
    expect: [/apt-get install -y -q --no-install-recommends nebula/],
  },
  {
    name: "apt packages present",
    resource: packages({ names: ["nebula"], os: "debian" }),
    probes: { "packages:apt:nebula": "nebula ii \n" },
    expect: null,
  },
  {
    name: "opkg package missing",
    resource: packages({ names: ["nebula"], os: "openwrt" }),
    probes: { "packages:openwrt": "@opkg\nbusybox - 1.36\n" },
    expect: [/^opkg update && opkg install nebula$/],
  },
  {
    name: "opkg package present",
    resource: packages({ names: ["nebula"], os: "openwrt" }),
    probes: { "packages:openwrt": "@opkg\nnebula - 1.6.1\n" },
    expect: null,
  },
  {
    name: "apk (OpenWrt 25.12) package missing",
    resource: packages({ names: ["nebula", "ip-full"], os: "openwrt" }),
    probes: {
      "packages:openwrt":
        "@apk\nip-full-6.11.0-r1 x86_64 {iproute2} (GPL-2.0-only) [installed]\nbusybox-1.37.0-r3 x86_64 {busybox} (GPL-2.0) [installed]\n",
    },
    expect: [/^apk update && apk add nebula$/],
  },
  {
    name: "apk package present",
    resource: packages({ names: ["kmod-nft-nat"], os: "openwrt" }),
    probes: { "packages:openwrt": "@apk\nkmod-nft-nat-6.6.73-r1 x86_64 {linux} (GPL-2.0) [installed]\n" },
    expect: null,
  },
  {
    name: "guarded command, creates missing",
    resource: guardedCommand({ name: "make key", command: sh`touch /k`, creates: "/k" }),
    probes: { "path:/k": "absent\n" },
    expect: [/^touch \/k$/],
  },
  {
    name: "guarded command, creates present",
    resource: guardedCommand({ name: "make key", command: sh`touch /k`, creates: "/k" }),
    probes: { "path:/k": "file\n-rw------- 0\nroot\nroot\ne3b0\n" },
    expect: null,
  },
  {
    name: "guarded command, unless succeeds",
    resource: guardedCommand({ name: "n", command: sh`x`, unless: sh`test -e /y` }),
    probes: { "succeeds:test -e /y": ["", 0] },
    expect: null,
  },
  {
    name: "guarded command, unless fails",
    resource: guardedCommand({ name: "n", command: sh`x`, unless: sh`test -e /y` }),
    probes: { "succeeds:test -e /y": ["", 1] },
    expect: [/^x$/],
  },
  {
    name: "file with only a group asked -> written with chown :group",
    resource: file({ path: "/etc/x", content: "hello\n", group: "prometheus" }),
    probes: { "path:/etc/x": "absent\n" },
    expect: [/chown :prometheus \/etc\/\.x\.meshisp-new && mv -f/],
  },
  {
    name: "file with only a group asked, already so -> nothing",
    resource: file({ path: "/etc/x", content: "hello\n", group: "prometheus" }),
    probes: { "path:/etc/x": `file\n-rw-r--r-- 6\nroot\nprometheus\n${HELLO_SHA}\n` },
    expect: null,
  },
  {
    name: "nft table absent -> created in one transaction, stamped with its hash",
    resource: nftTable({
      family: "ip",
      name: "t",
      body: "\tchain c {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t}",
    }),
    probes: { "nft-comment:ip:t": ["", 1] },
    expect: [
      /^printf '%s' 'table ip t\ndelete table ip t\ntable ip t \{\n\tcomment "meshisp sha256:[0-9a-f]{16}"\n\tchain c \{.*' \| nft -f -$/s,
    ],
  },
  {
    name: "nft table carrying the stamp of the same body -> nothing (however this nft version prints the rules)",
    resource: nftTable({ family: "ip", name: "t", body: "\tchain c {\n\t}" }),
    probes: {
      "nft-comment:ip:t": `table ip t {\n\tcomment "${nftTableStamp("\tchain c {\n\t}")}"\n\tchain c {\n\t}\n}\n`,
    },
    expect: null,
  },
  {
    name: "nft table with another stamp, or none (an older version, or rebuilt by hand) -> replaced",
    resource: nftTable({ family: "ip", name: "t", body: "\tchain c {\n\t}" }),
    probes: { "nft-comment:ip:t": "table ip t {\n\tchain c {\n\t}\n}\n" },
    expect: [/nft -f -/],
  },
  {
    name: "nft table to remove, present -> deleted",
    resource: nftTable({ family: "ip", name: "t", body: "", absent: true }),
    probes: { "nft-comment:ip:t": "table ip t {\n}\n" },
    expect: [/^nft delete table ip t$/],
  },
  {
    name: "nft table to remove, already gone -> nothing",
    resource: nftTable({ family: "ip", name: "t", body: "", absent: true }),
    probes: { "nft-comment:ip:t": ["", 1] },
    expect: null,
  },
];

describe("resource plans", () => {
  it.each(cases)("$name", ({ resource, probes, expect: wanted }) => {
    const got = plan(resource, probes);
    if (wanted === null) expect(got).toBeNull();
    else {
      expect(got).not.toBeNull();
      expect(got!.length).toBe(wanted.length);
      wanted.forEach((re, i) => expect(got![i]).toMatch(re));
    }
  });

  it("refuses to replace a directory with a file", () => {
    expect(() =>
      plan(file({ path: "/etc/x", content: "a" }), { "path:/etc/x": "directory\ndrwxr-xr-x 4096\nroot\nroot\n" }),
    ).toThrow(/is a directory/);
  });

  it("a guarded command without a guard is refused", () => {
    expect(() => guardedCommand({ name: "n", command: sh`x` })).toThrow(/needs creates or unless/);
  });
});

describe("editLines", () => {
  it.each([
    { current: null, spec: { line: "a" }, out: "a\n" },
    { current: "", spec: { line: "a" }, out: "a\n" },
    { current: "x\n", spec: { line: "a" }, out: "x\na\n" },
    { current: "x\na\n", spec: { line: "a" }, out: null },
    { current: "x = 1\ny\n", spec: { line: "x = 2", match: /^x\s*=/ }, out: "x = 2\ny\n" },
    { current: "x = 1\nx=3\n", spec: { line: "x = 2", match: /^x\s*=/ }, out: "x = 2\n" },
    { current: "a\nb\n", spec: { line: "a", absent: true }, out: "b\n" },
    { current: "b\n", spec: { line: "a", absent: true }, out: null },
    { current: null, spec: { line: "a", absent: true }, out: null },
    { current: "x", spec: { line: "y" }, out: "x\ny\n" },
  ])("$current + $spec -> $out", ({ current, spec, out }) => {
    expect(editLines(current, spec)).toBe(out);
  });
});
