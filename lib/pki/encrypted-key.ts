// The CA key at rest, as nebula-cert 1.7+ encrypts it: Argon2id derives an AES-256-GCM key from the passphrase.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { argon2id } from "@noble/hashes/argon2";
import { UserError } from "../errors.ts";
import { BANNERS, fromPem, toPem } from "./pem.ts";
import { readFields, Writer } from "./protobuf.ts";

export interface Argon2Params {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

/** nebula-cert's defaults: 2 MiB, one pass, four lanes. */
export const DEFAULT_ARGON2: Argon2Params = { memoryKiB: 2 * 1024, iterations: 1, parallelism: 4 };
const ALGORITHM = "AES-256-GCM";

const derive = (passphrase: string, salt: Buffer, p: Argon2Params) =>
  Buffer.from(argon2id(Buffer.from(passphrase, "utf8"), salt, { t: p.iterations, m: p.memoryKiB, p: p.parallelism, dkLen: 32 }));

export function encryptPrivateKey(key: Buffer, passphrase: string, params: Argon2Params = DEFAULT_ARGON2): string {
  const salt = randomBytes(32);
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", derive(passphrase, salt, params), nonce);
  const sealed = Buffer.concat([nonce, cipher.update(key), cipher.final(), cipher.getAuthTag()]);
  const argon = new Writer().varint(1, 0x13).varint(2, params.memoryKiB).varint(3, params.iterations).varint(4, params.parallelism).bytes(5, salt).finish();
  const metadata = new Writer().bytes(1, ALGORITHM).bytes(2, argon).finish();
  return toPem(BANNERS.ed25519EncryptedPrivate, new Writer().bytes(1, metadata).bytes(2, sealed).finish());
}

export function decryptPrivateKey(pem: string, passphrase: string, file: string): Buffer {
  const outer = readFields(fromPem(BANNERS.ed25519EncryptedPrivate, pem, file));
  const metadata = outer.find((f) => f.n === 1 && f.kind === "bytes")?.value as Buffer | undefined;
  const sealed = outer.find((f) => f.n === 2 && f.kind === "bytes")?.value as Buffer | undefined;
  if (!metadata || !sealed || sealed.length < 28) throw new UserError(`${file}: not a valid encrypted Nebula key`);
  const meta = readFields(metadata);
  const algorithm = (meta.find((f) => f.n === 1)?.value as Buffer | undefined)?.toString();
  if (algorithm !== ALGORITHM) throw new UserError(`${file}: encrypted with ${algorithm ?? "an unknown algorithm"}; only ${ALGORITHM} is supported`);
  const argon = readFields((meta.find((f) => f.n === 2)?.value as Buffer | undefined) ?? Buffer.alloc(0));
  const num = (n: number) => Number((argon.find((f) => f.n === n)?.value as bigint | undefined) ?? 0n);
  const salt = (argon.find((f) => f.n === 5)?.value as Buffer | undefined) ?? Buffer.alloc(0);
  const decipher = createDecipheriv("aes-256-gcm", derive(passphrase, salt, { memoryKiB: num(2), iterations: num(3), parallelism: num(4) }), sealed.subarray(0, 12));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]);
  } catch {
    throw new UserError(`wrong passphrase for the CA key ${file}`, "check MESH_CA_PASSPHRASE, or type it again");
  }
}
