// The CA key at rest in nebula-cert 1.7+'s format: Argon2id derives an AES-256-GCM key from the passphrase.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { Secret } from "../command.ts";
import { UserError } from "../errors.ts";
import { argon2idOffThread } from "./argon2.ts";
import { BANNERS, fromPem, toPem } from "./pem.ts";
import { readFields, Writer, type Field } from "./protobuf.ts";

export interface Argon2Params {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

/**
 * 64 MiB, 3 passes, 4 lanes (RFC 9106's second recommendation, and the parameters of Nebula's own test key):
 * about 3 s in pure JS. nebula-cert's default (2 GiB, 1 pass) takes about 30 s here, too slow for a field laptop.
 */
export const DEFAULT_ARGON2: Argon2Params = { memoryKiB: 64 * 1024, iterations: 3, parallelism: 4 };
const ARGON2_VERSION = 0x13;
const ALGORITHM = "AES-256-GCM";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const MAX_MEMORY_KIB = 4 * 1024 * 1024 - 1;

export type Passphrase = string | Secret;
const text = (p: Passphrase) => (typeof p === "string" ? p : p.reveal());

/** Off the main thread (lib/pki/argon2.ts): the seconds it takes must not stall other hosts' SSH sessions. */
const derive = (passphrase: Passphrase, salt: Buffer, p: Argon2Params): Promise<Buffer> =>
  argon2idOffThread({
    password: Buffer.from(text(passphrase), "utf8"),
    salt,
    options: { t: p.iterations, m: p.memoryKiB, p: p.parallelism, dkLen: 32, maxmem: 2 ** 32 - 1 },
  });

/** Encrypts a 64-byte CA key; `salt` and `nonce` are for tests that compare bytes with Nebula's, never set them otherwise. */
export async function encryptPrivateKey(
  key: Buffer,
  passphrase: Passphrase,
  params: Argon2Params = DEFAULT_ARGON2,
  fixed: { salt?: Buffer; nonce?: Buffer } = {},
): Promise<string> {
  const salt = fixed.salt ?? randomBytes(32);
  const nonce = fixed.nonce ?? randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", await derive(passphrase, salt, params), nonce);
  const sealed = Buffer.concat([nonce, cipher.update(key), cipher.final(), cipher.getAuthTag()]);
  // RawNebulaArgon2Parameters {1 version, 2 memory, 3 iterations, 4 parallelism, 5 salt}, in field order as Go writes it.
  const argon = new Writer()
    .varint(1, ARGON2_VERSION)
    .varint(2, params.memoryKiB)
    .varint(3, params.iterations)
    .varint(4, params.parallelism)
    .bytes(5, salt)
    .finish();
  const metadata = new Writer().bytes(1, ALGORITHM).bytes(2, argon).finish();
  return toPem(BANNERS.ed25519EncryptedPrivate, new Writer().bytes(1, metadata).bytes(2, sealed).finish());
}

const bytesOf = (fields: Field[], n: number) =>
  fields.find((f): f is Extract<Field, { kind: "bytes" }> => f.n === n && f.kind === "bytes")?.value;
const numberOf = (fields: Field[], n: number) =>
  Number(fields.find((f): f is Extract<Field, { kind: "varint" }> => f.n === n && f.kind === "varint")?.value ?? 0n);

/** The Argon2 parameters and sealed bytes of an encrypted key file; a damaged file is a clear error naming it. */
function readEncrypted(pem: string, file: string) {
  const damaged = (why: string) => new UserError(`${file}: not a valid encrypted Nebula key (${why})`);
  if (/-----BEGIN NEBULA ED25519 PRIVATE KEY-----/.test(pem)) {
    throw new UserError(`${file}: this CA key is not encrypted`, "store it encrypted: import it with CaStore.importCa");
  }
  let outer: Field[], meta: Field[], argon: Field[];
  try {
    outer = readFields(fromPem(BANNERS.ed25519EncryptedPrivate, pem, file));
    meta = readFields(bytesOf(outer, 1) ?? Buffer.alloc(0));
    argon = readFields(bytesOf(meta, 2) ?? Buffer.alloc(0));
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw damaged((err as Error).message);
  }
  const algorithm = bytesOf(meta, 1)?.toString("utf8");
  if (algorithm !== ALGORITHM)
    throw new UserError(
      `${file}: encrypted with ${algorithm || "an unknown algorithm"}; only ${ALGORITHM} is supported`,
    );
  const params: Argon2Params = {
    memoryKiB: numberOf(argon, 2),
    iterations: numberOf(argon, 3),
    parallelism: numberOf(argon, 4),
  };
  const salt = bytesOf(argon, 5) ?? Buffer.alloc(0);
  const sealed = bytesOf(outer, 2) ?? Buffer.alloc(0);
  if (numberOf(argon, 1) !== ARGON2_VERSION)
    throw damaged(`Argon2 version ${numberOf(argon, 1)}, expected ${ARGON2_VERSION}`);
  if (salt.length < 16) throw damaged("salt shorter than 128 bits");
  if (params.memoryKiB < 8 * params.parallelism || params.memoryKiB > MAX_MEMORY_KIB)
    throw damaged(`Argon2 memory ${params.memoryKiB} KiB`);
  if (params.iterations < 1 || params.parallelism < 1 || params.parallelism > 255)
    throw damaged("Argon2 iterations and parallelism must be positive");
  if (sealed.length <= NONCE_BYTES + TAG_BYTES) throw damaged("ciphertext too short");
  return { params, salt, sealed };
}

/** The Argon2 parameters a key file was encrypted with (to show, or to re-encrypt with stronger ones). */
export const encryptionParams = (pem: string, file = "key"): Argon2Params => readEncrypted(pem, file).params;

/** The passphrase does not open the key: its own class, so that a prompt can ask again (tasks/enroll/open-ca.ts). */
export class WrongPassphrase extends UserError {
  constructor(file: string) {
    super(
      `wrong passphrase for the CA key ${file} (or the file is damaged)`,
      "check MESH_CA_PASSPHRASE, or type it again",
    );
    this.name = "WrongPassphrase";
  }
}

/** Decrypts a CA key (64 bytes) in memory. A wrong passphrase is a UserError that names the file and nothing secret. */
export async function decryptPrivateKey(pem: string, passphrase: Passphrase, file: string): Promise<Buffer> {
  const { params, salt, sealed } = readEncrypted(pem, file);
  const decipher = createDecipheriv(
    "aes-256-gcm",
    await derive(passphrase, salt, params),
    sealed.subarray(0, NONCE_BYTES),
  );
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  let key: Buffer;
  try {
    key = Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new WrongPassphrase(file);
  }
  if (key.length !== 64)
    throw new UserError(`${file}: the decrypted key is ${key.length} bytes, not 64: not a Nebula Ed25519 CA key`);
  return key;
}
