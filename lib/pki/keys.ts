// Key pairs from node:crypto as raw bytes: Ed25519 for the CA, X25519 for hosts (their private key only ever a Secret).
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { Secret } from "../command.ts";
import { UserError } from "../errors.ts";
import { BANNERS, fromPem, toPem } from "./pem.ts";

const rawPair = (kind: "ed25519" | "x25519") => {
  const { privateKey, publicKey } = generateKeyPairSync(kind as "ed25519");
  const priv = privateKey.export({ format: "jwk" }) as { d: string };
  const pub = publicKey.export({ format: "jwk" }) as { x: string };
  return { seed: Buffer.from(priv.d, "base64url"), pub: Buffer.from(pub.x, "base64url") };
};

const publicOf = (crv: "Ed25519" | "X25519", seed: Buffer) => {
  const jwk = createPublicKey(
    createPrivateKey({ key: { kty: "OKP", crv, d: seed.toString("base64url"), x: "" }, format: "jwk" }),
  ).export({ format: "jwk" });
  return Buffer.from((jwk as { x: string }).x, "base64url");
};

/** The CA's key: 64 bytes, seed then public key, as Nebula stores it. */
export function generateEd25519(): { privateKey: Buffer; publicKey: Buffer } {
  const { seed, pub } = rawPair("ed25519");
  return { privateKey: Buffer.concat([seed, pub]), publicKey: pub };
}

/** A host's key pair; the private key is a Secret: it goes to the node and is never written here. */
export function generateX25519(): { publicKey: Buffer; publicKeyPem: string; privateKeyPem: Secret } {
  const { seed, pub } = rawPair("x25519");
  return {
    publicKey: pub,
    publicKeyPem: toPem(BANNERS.x25519Public, pub),
    privateKeyPem: new Secret(toPem(BANNERS.x25519Private, seed)),
  };
}

/** The public key that belongs to a host's private key PEM (to check a node's key against its certificate). */
export function x25519PublicKeyOf(privateKeyPem: Secret | string): Buffer {
  const pem = typeof privateKeyPem === "string" ? privateKeyPem : privateKeyPem.reveal();
  const seed = fromPem(BANNERS.x25519Private, pem, "host private key");
  if (seed.length !== 32) throw new UserError(`a Nebula X25519 private key is 32 bytes, not ${seed.length}`);
  return publicOf("X25519", seed);
}

/** Reads an unencrypted CA key (as nebula-cert ca writes it) and checks that its two halves belong together. */
export function ed25519KeyFromPem(text: string, what = "CA key"): Buffer {
  const key = fromPem(BANNERS.ed25519Private, text, what);
  if (key.length !== 64) throw new UserError(`${what}: a Nebula Ed25519 private key is 64 bytes, not ${key.length}`);
  if (!publicOf("Ed25519", key.subarray(0, 32)).equals(key.subarray(32)))
    throw new UserError(`${what}: the key is damaged (its public half does not match)`);
  return key;
}

/** An unencrypted CA key in Nebula's PEM, as a Secret (for nebula-cert 1.6, which cannot read encrypted keys). */
export const ed25519KeyToPem = (key: Buffer): Secret => new Secret(toPem(BANNERS.ed25519Private, key));

/** The 32-byte public half of a 64-byte CA key. */
export const ed25519PublicOf = (key: Buffer): Buffer => publicOf("Ed25519", key.subarray(0, 32));
