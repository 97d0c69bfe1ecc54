// Host keys pinned in an OpenSSH-format known_hosts file: first contact records, a changed key is refused.
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";

export type HostKeyVerdict =
  | { kind: "known" }
  | { kind: "new"; fingerprint: string; keyType: string }
  | { kind: "changed"; fingerprint: string; pinned: string; keyType: string; line: number };

/** OpenSSH's way of naming a host in known_hosts: bare for port 22, [host]:port otherwise. */
export const knownHostsName = (host: string, port: number): string => (port === 22 ? host : `[${host}]:${port}`);

/** "SHA256:..." as `ssh-keygen -l` prints it. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

/** The key type is the first string inside the SSH public key blob. */
export function keyTypeOf(keyBlob: Buffer): string {
  const length = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + length).toString("ascii");
}

interface Entry {
  names: string[];
  keyType: string;
  blob: Buffer;
  line: number;
}

function readEntries(file: string): Entry[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .flatMap((text, i) => {
      const fields = text.trim().split(/\s+/);
      if (fields.length < 3 || fields[0].startsWith("#") || fields[0].startsWith("@") || fields[0].startsWith("|")) return [];
      return [{ names: fields[0].split(","), keyType: fields[1], blob: Buffer.from(fields[2], "base64"), line: i + 1 }];
    });
}

/** Compares a presented key with the pin for host:port. Keys of another type than the pinned ones count as changed. */
export function checkHostKey(file: string, host: string, port: number, keyBlob: Buffer): HostKeyVerdict {
  const name = knownHostsName(host, port);
  const pinned = readEntries(file).filter((e) => e.names.includes(name));
  const keyType = keyTypeOf(keyBlob);
  const fingerprint = fingerprintOf(keyBlob);
  if (pinned.length === 0) return { kind: "new", fingerprint, keyType };
  if (pinned.some((e) => e.blob.equals(keyBlob))) return { kind: "known" };
  const first = pinned[0];
  return { kind: "changed", fingerprint, keyType, pinned: fingerprintOf(first.blob), line: first.line };
}

/** Appends one line; O_APPEND keeps concurrent first contacts from interleaving. */
export function pinHostKey(file: string, host: string, port: number, keyBlob: Buffer): void {
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, `${knownHostsName(host, port)} ${keyTypeOf(keyBlob)} ${keyBlob.toString("base64")}\n`, { mode: 0o600 });
}
