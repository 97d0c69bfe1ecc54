// Record files replaced whole (lib/atomic-file.ts): a replaced file keeps its mode and owner, and no temp file is left behind.
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { appendFileDurable, writeFileAtomic } from "../../lib/atomic-file.ts";

const dir = () => mkdtempSync(join(tmpdir(), "meshisp-atomic-"));
const modeOf = (file: string) => statSync(file).mode & 0o7777;

describe("writeFileAtomic", () => {
  it("creates a new file with the mode asked for, whatever the umask", () => {
    const d = dir();
    const old = process.umask(0o077);
    try {
      writeFileAtomic(join(d, "a.json"), "{}\n", { mode: 0o644 });
    } finally {
      process.umask(old);
    }
    expect(modeOf(join(d, "a.json"))).toBe(0o644);
    expect(readFileSync(join(d, "a.json"), "utf8")).toBe("{}\n");
    expect(readdirSync(d)).toEqual(["a.json"]);
  });

  it("replaces a file with the whole new content and keeps the old file's mode (not the one a new file would get)", () => {
    const d = dir();
    const file = join(d, "hosts.yml");
    writeFileSync(file, "old\n");
    chmodSync(file, 0o640);
    const content = randomBytes(3 * 1024 * 1024);
    writeFileAtomic(file, content, { mode: 0o600 });
    expect(modeOf(file)).toBe(0o640);
    expect(readFileSync(file).equals(content)).toBe(true);
    expect(readdirSync(d)).toEqual(["hosts.yml"]);
  });

  it("keeps the old file's owner and group when run as root", () => {
    // The tests run as root (the lab needs it); as anyone else chown would fail and there is no owner to keep.
    expect(process.getuid?.()).toBe(0);
    const file = join(dir(), "issued.json");
    writeFileSync(file, "[]\n");
    chownSync(file, 4321, 4322);
    writeFileAtomic(file, "[1]\n");
    expect([statSync(file).uid, statSync(file).gid]).toEqual([4321, 4322]);
  });

  it("keeps the old file and leaves no temp file when the check refuses the new content", () => {
    const d = dir();
    const file = join(d, "hosts.yml");
    writeFileSync(file, "old\n");
    let checked = "";
    expect(() =>
      writeFileAtomic(file, "new\n", {
        check: (tmp) => {
          checked = readFileSync(tmp, "utf8");
          throw new Error("invalid");
        },
      }),
    ).toThrow("invalid");
    expect(checked).toBe("new\n"); // the check saw the whole new content
    expect(readFileSync(file, "utf8")).toBe("old\n");
    expect(readdirSync(d)).toEqual(["hosts.yml"]);
  });

  it("leaves no temp file when the rename fails", () => {
    const d = dir();
    const target = join(d, "taken");
    mkdirSync(join(target, "inside"), { recursive: true }); // a non-empty directory cannot be renamed over
    expect(() => writeFileAtomic(target, "x")).toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(readdirSync(d)).toEqual(["taken"]);
  });
});

describe("appendFileDurable", () => {
  it("appends whole lines to a new file of the mode asked for", () => {
    const file = join(dir(), "known_hosts");
    appendFileDurable(file, "a ssh-ed25519 AAAA\n", { mode: 0o600 });
    appendFileDurable(file, "b ssh-ed25519 BBBB\n", { mode: 0o644 });
    expect(readFileSync(file, "utf8")).toBe("a ssh-ed25519 AAAA\nb ssh-ed25519 BBBB\n");
    expect(modeOf(file)).toBe(0o600);
  });
});
