// PEM blocks as Nebula writes them: a banner, base64 in 64-character lines, no headers.
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

/** The first block with this banner; throws a readable error naming what was expected. */
export function fromPem(banner: string, text: string, what = "input"): Buffer {
  const match = new RegExp(`-----BEGIN ${banner}-----\\r?\\n([A-Za-z0-9+/=\\r\\n]*?)-----END ${banner}-----`).exec(text);
  if (!match) throw new Error(`${what} is not a PEM block "${banner}"`);
  return Buffer.from(match[1].replace(/\s+/g, ""), "base64");
}
