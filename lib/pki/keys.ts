// Key pairs from node:crypto as raw bytes: Ed25519 for the CA, X25519 for hosts (their private key only ever a Secret).
import { generateKeyPairSync } from "node:crypto";
import { Secret } from "../command.ts";
import { BANNERS, toPem } from "./pem.ts";

const raw = (kind: "ed25519" | "x25519") => {
  const { privateKey, publicKey } = generateKeyPairSync(kind as "ed25519");
  const jwk = privateKey.export({ format: "jwk" }) as { d: string };
  const pub = publicKey.export({ format: "jwk" }) as { x: string };
  return { seed: Buffer.from(jwk.d, "base64url"), pub: Buffer.from(pub.x, "base64url") };
};

/** The CA's key: 64 bytes, seed then public key, as Nebula stores it. */
export function generateEd25519(): { privateKey: Buffer; publicKey: Buffer } {
  const { seed, pub } = raw("ed25519");
  return { privateKey: Buffer.concat([seed, pub]), publicKey: pub };
}

export function generateX25519(): { publicKey: Buffer; publicKeyPem: string; privateKeyPem: Secret } {
  const { seed, pub } = raw("x25519");
  return { publicKey: pub, publicKeyPem: toPem(BANNERS.x25519Public, pub), privateKeyPem: new Secret(toPem(BANNERS.x25519Private, seed)) };
}
