// known_hosts pinned by node name: first contact, known, changed, the old code's address lines taken over, never another node's.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ed25519HostKeyBlob } from "./ssh-key-blob.ts";
import {
  changedKeyMessage,
  checkHostKey,
  fingerprintOf,
  namesHolding,
  pinHostKey,
  readPins,
} from "../../lib/transport/known-hosts.ts";

const blob = ed25519HostKeyBlob;
const A = blob();
const B = blob();
const line = (names: string, key: Buffer) => `${names} ssh-ed25519 ${key.toString("base64")}`;
const dir = mkdtempSync(join(tmpdir(), "meshisp-kh-"));

const CASES: {
  name: string;
  file: string[];
  pin: { name: string; legacyAddress?: string };
  key: Buffer;
  kind: string;
  line?: number;
  pinnedAs?: string;
}[] = [
  { name: "no file: new", file: [], pin: { name: "uplink-1" }, key: A, kind: "new" },
  {
    name: "the name pins this key: known",
    file: ["# comment", line("uplink-1", A)],
    pin: { name: "uplink-1" },
    key: A,
    kind: "known",
  },
  {
    name: "the name pins another key: changed, naming the line",
    file: [line("hub", B), line("uplink-1", B)],
    pin: { name: "uplink-1" },
    key: A,
    kind: "changed",
    line: 2,
    pinnedAs: "uplink-1",
  },
  {
    name: "another node holds this key: new for this name (the enrollment decides identity, not the transport)",
    file: [line("uplink-2", A)],
    pin: { name: "uplink-1" },
    key: A,
    kind: "new",
  },
  {
    name: "old address line with this key: migrated",
    file: [line("198.18.1.5", A)],
    pin: { name: "hub", legacyAddress: "198.18.1.5" },
    key: A,
    kind: "migrated",
    line: 1,
  },
  {
    name: "old [address]:port line with this key: migrated",
    file: [line("[10.0.0.1]:2222", A)],
    pin: { name: "hub", legacyAddress: "[10.0.0.1]:2222" },
    key: A,
    kind: "migrated",
    line: 1,
  },
  {
    name: "old address line with another key: changed, as before",
    file: [line("198.18.1.5", B)],
    pin: { name: "hub", legacyAddress: "198.18.1.5" },
    key: A,
    kind: "changed",
    line: 1,
    pinnedAs: "198.18.1.5",
  },
  {
    name: "a name pin wins over an address line",
    file: [line("198.18.1.5", B), line("hub", A)],
    pin: { name: "hub", legacyAddress: "198.18.1.5" },
    key: A,
    kind: "known",
  },
  {
    name: "an address line is ignored without a legacy address (ten routers at 192.168.8.1)",
    file: [line("192.168.8.1", B)],
    pin: { name: "uplink-2" },
    key: A,
    kind: "new",
  },
  { name: "several names on one line", file: [line("hub,10.10.0.2", A)], pin: { name: "hub" }, key: A, kind: "known" },
];

describe("known_hosts by node name", () => {
  it.each(CASES)("$name", ({ file, pin, key, kind, line: at, pinnedAs }) => {
    const path = join(dir, `${Math.random()}`);
    if (file.length) writeFileSync(path, `${file.join("\n")}\n`);
    const verdict = checkHostKey(path, pin, key);
    expect(verdict.kind).toBe(kind);
    if (at) expect((verdict as { line: number }).line).toBe(at);
    if (pinnedAs) expect((verdict as { pinnedAs: string }).pinnedAs).toBe(pinnedAs);
  });

  it("pins are appended as `<name> <type> <base64>` and read back; namesHolding finds the node of a key", () => {
    const path = join(dir, "append");
    writeFileSync(path, `${line("192.168.8.1", A)}\n`);
    pinHostKey(path, "uplink-1", A);
    pinHostKey(path, "uplink-2", B);
    expect(readFileSync(path, "utf8").split("\n")[1]).toBe(line("uplink-1", A));
    expect(namesHolding(readPins(path), A)).toEqual(["uplink-1"]);
    expect(namesHolding(readPins(path), B)).toEqual(["uplink-2"]);
    expect(checkHostKey(path, { name: "uplink-2" }, B).kind).toBe("known");
  });

  it("a changed key's message names the node, both fingerprints, the file and line, and what to do", () => {
    const path = join(dir, "changed");
    writeFileSync(path, `${line("uplink-3", B)}\n`);
    const verdict = checkHostKey(path, { name: "uplink-3" }, A);
    if (verdict.kind !== "changed") throw new Error("expected changed");
    const message = changedKeyMessage("uplink-3", path, verdict);
    for (const part of [
      "HOST KEY CHANGED: uplink-3 now presents ssh-ed25519",
      fingerprintOf(A),
      `${path}:1 pins ${fingerprintOf(B)} for uplink-3`,
      `delete line 1 of ${path}`,
    ])
      expect(message).toContain(part);
  });
});
