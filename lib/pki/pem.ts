// PEM blocks as Nebula writes them: a banner, base64 in 64-character lines, no headers.
import { UserError } from "../errors.ts";

export const BANNERS = {
  cert: "NEBULA CERTIFICATE",
  ed25519Private: "NEBULA ED25519 PRIVATE KEY",
  ed25519EncryptedPrivate: "NEBULA ED25519 ENCRYPTED PRIVATE KEY",
  ed25519Public: "NEBULA ED25519 PUBLIC KEY",
  x25519Private: "NEBULA X25519 PRIVATE KEY",
  x25519Public: "NEBULA X25519 PUBLIC KEY",
} as const;

export function toPem(banner: string, data: Buffer): string {
  const b64 = data.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN ${banner}-----\n${b64}\n-----END ${banner}-----\n`;
}

const block = (banner: string) =>
  new RegExp(`-----BEGIN ${banner}-----\\r?\\n([A-Za-z0-9+/=\\r\\n]*?)-----END ${banner}-----`, "g");

/** Every block with this banner, in order (a CA file may hold several CAs). */
export function allFromPem(banner: string, text: string): Buffer[] {
  return [...text.matchAll(block(banner))].map((m) => Buffer.from(m[1].replace(/\s+/g, ""), "base64"));
}

/** The first block with this banner; a readable error says what was expected and what was found. */
export function fromPem(banner: string, text: string, what = "input"): Buffer {
  const [first] = allFromPem(banner, text);
  if (first) return first;
  const found = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
  throw new UserError(`${what} is not a PEM block "${banner}"${found ? ` (it holds "${found}")` : ""}`);
}
