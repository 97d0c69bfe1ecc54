// Host keys pinned per node NAME in an OpenSSH-format known_hosts file (`uplink-2 ssh-ed25519 AAAA...`), never per address:
// every GL.iNet router is 192.168.8.1 on its own LAN, so ten routers at one address are ten nodes, told apart by their keys.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { appendFileDurable } from "../atomic-file.ts";

export type HostKeyVerdict =
  | { kind: "known" }
  | { kind: "new"; fingerprint: string; keyType: string }
  /** No pin for the name, but a line the old code wrote for the host's address pins this very key: take it over. */
  | { kind: "migrated"; fingerprint: string; keyType: string; line: number; address: string }
  | { kind: "changed"; fingerprint: string; pinned: string; keyType: string; line: number; pinnedAs: string };

/** OpenSSH's way of naming a host in known_hosts: bare for port 22, [host]:port otherwise (what the old code pinned). */
export const knownHostsName = (host: string, port: number): string => (port === 22 ? host : `[${host}]:${port}`);

/** A node name as the inventory allows it (no dots, colons or brackets): anything else on a line is an address. */
export const isNodeName = (name: string): boolean => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name);

/** "SHA256:..." as `ssh-keygen -l` prints it. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

/** The key type is the first string inside the SSH public key blob. */
export function keyTypeOf(keyBlob: Buffer): string {
  const length = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + length).toString("ascii");
}

export interface Pin {
  names: string[];
  keyType: string;
  blob: Buffer;
  line: number;
}

/** Every pin of the file, in file order (comments, markers and hashed names skipped). */
export function readPins(file: string): Pin[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .flatMap((text, i) => {
      const fields = text.trim().split(/\s+/);
      if (fields.length < 3 || fields[0].startsWith("#") || fields[0].startsWith("@") || fields[0].startsWith("|"))
        return [];
      return [{ names: fields[0].split(","), keyType: fields[1], blob: Buffer.from(fields[2], "base64"), line: i + 1 }];
    });
}

/** Node names whose pin holds this key (a router enrolled before is recognised by its key, wherever it is now). */
export const namesHolding = (pins: Pin[], keyBlob: Buffer): string[] => [
  ...new Set(pins.filter((p) => p.blob.equals(keyBlob)).flatMap((p) => p.names.filter(isNodeName))),
];

/**
 * Compares a presented key with the pin for a node name. Keys of another type than the pinned ones count as changed.
 * `legacyAddress` (knownHostsName form) is where the old code would have pinned this host: used only when the name has no pin.
 */
export function checkHostKey(
  file: string,
  pin: { name: string; legacyAddress?: string },
  keyBlob: Buffer,
  pins = readPins(file),
): HostKeyVerdict {
  const keyType = keyTypeOf(keyBlob);
  const fingerprint = fingerprintOf(keyBlob);
  const judge = (lines: Pin[], as: string): HostKeyVerdict | undefined => {
    if (lines.length === 0) return undefined;
    const same = lines.find((e) => e.blob.equals(keyBlob));
    if (same)
      return as === pin.name
        ? { kind: "known" }
        : { kind: "migrated", fingerprint, keyType, line: same.line, address: as };
    return {
      kind: "changed",
      fingerprint,
      keyType,
      pinned: fingerprintOf(lines[0].blob),
      line: lines[0].line,
      pinnedAs: as,
    };
  };
  const byName = judge(
    pins.filter((e) => e.names.includes(pin.name)),
    pin.name,
  );
  if (byName) return byName;
  const legacy =
    pin.legacyAddress && pin.legacyAddress !== pin.name
      ? judge(
          pins.filter((e) => e.names.includes(pin.legacyAddress!)),
          pin.legacyAddress,
        )
      : undefined;
  return legacy ?? { kind: "new", fingerprint, keyType };
}

/** Appends one line `<name> <type> <base64>`, fsynced; O_APPEND keeps concurrent first contacts from interleaving. */
export function pinHostKey(file: string, name: string, keyBlob: Buffer): void {
  mkdirSync(dirname(file), { recursive: true });
  appendFileDurable(file, `${name} ${keyTypeOf(keyBlob)} ${keyBlob.toString("base64")}\n`, { mode: 0o600 });
}

/** The message for a refused key: the node, what it presents, the file and line that pins something else, what to do. */
export function changedKeyMessage(name: string, file: string, v: Extract<HostKeyVerdict, { kind: "changed" }>): string {
  return (
    `HOST KEY CHANGED: ${name} now presents ${v.keyType} ${v.fingerprint}, but ${file}:${v.line} pins ${v.pinned}${v.pinnedAs === name ? ` for ${name}` : ` for its address ${v.pinnedAs}`}. ` +
    `Refusing to connect: this may be another machine at that address. If the device was really reinstalled, ` +
    `delete line ${v.line} of ${file} and run again.`
  );
}
