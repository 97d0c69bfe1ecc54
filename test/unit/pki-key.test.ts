// The CA key at rest: Nebula 1.7+'s encrypted format, proven on Nebula's own test key; clear errors that leak nothing.
import { beforeAll, describe, expect, it } from "vitest";
import { Secret } from "../../lib/command.ts";
import { UserError } from "../../lib/errors.ts";
import { decryptPrivateKey, DEFAULT_ARGON2, encryptionParams, encryptPrivateKey } from "../../lib/pki/encrypted-key.ts";
import { ed25519KeyFromPem, ed25519KeyToPem, ed25519PublicOf, generateEd25519 } from "../../lib/pki/keys.ts";
import { fromPem, toPem } from "../../lib/pki/pem.ts";
import { readFields, Writer } from "../../lib/pki/protobuf.ts";
import { CHEAP_ARGON2, fixture } from "./fixtures/pki/helpers.ts";

const NEBULA_PASSPHRASE = "DO NOT USE";
const nebulaKeyPem = fixture("nebula-test-encrypted.key");
let nebulaKey: Buffer;

beforeAll(async () => {
  nebulaKey = await decryptPrivateKey(nebulaKeyPem, NEBULA_PASSPHRASE, "nebula-test-encrypted.key");
}, 60_000);

const errorOf = async (f: () => unknown): Promise<Error> => {
  try {
    await f();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error");
};

describe("Nebula's own encrypted test key (slackhq/nebula cert/crypto_test.go)", () => {
  it("decrypts to a 64-byte Ed25519 key whose halves belong together", () => {
    expect(nebulaKey).toHaveLength(64);
    expect(ed25519PublicOf(nebulaKey).equals(nebulaKey.subarray(32))).toBe(true);
    expect(encryptionParams(nebulaKeyPem)).toEqual({ memoryKiB: 64 * 1024, iterations: 3, parallelism: 4 });
  });

  it("re-encrypted with its salt and nonce, gives Nebula's file byte for byte (same layout as Go's marshaller)", async () => {
    const outer = readFields(fromPem("NEBULA ED25519 ENCRYPTED PRIVATE KEY", nebulaKeyPem));
    const argon = readFields(readFields(outer[0].value as Buffer)[1].value as Buffer);
    const salt = argon.find((f) => f.n === 5)!.value as Buffer;
    const nonce = (outer[1].value as Buffer).subarray(0, 12);
    expect(await encryptPrivateKey(nebulaKey, NEBULA_PASSPHRASE, encryptionParams(nebulaKeyPem), { salt, nonce })).toBe(
      nebulaKeyPem,
    );
  }, 60_000);

  it("the short key decrypts but is refused as not 64 bytes", async () => {
    await expect(
      decryptPrivateKey(fixture("nebula-test-encrypted-short.key"), NEBULA_PASSPHRASE, "short.key"),
    ).rejects.toThrow(/short\.key: the decrypted key is \d+ bytes, not 64/);
  }, 60_000);

  it("a wrong passphrase is a clear UserError naming the file, without the passphrase", async () => {
    const err = await errorOf(() => decryptPrivateKey(nebulaKeyPem, "guess-123", "/etc/mesh/pki/ca.key"));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe("wrong passphrase for the CA key /etc/mesh/pki/ca.key (or the file is damaged)");
    expect(`${err.message}${(err as UserError).hint}${err.stack}`).not.toContain("guess-123");
  }, 60_000);
});

describe("our encrypted keys", () => {
  it("round-trip with the passphrase (string or Secret), and use the default parameters unless told", async () => {
    const { privateKey } = generateEd25519();
    const pem = await encryptPrivateKey(privateKey, new Secret("pw-123456"), CHEAP_ARGON2);
    expect(pem).toMatch(
      /^-----BEGIN NEBULA ED25519 ENCRYPTED PRIVATE KEY-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END NEBULA ED25519 ENCRYPTED PRIVATE KEY-----\n$/,
    );
    expect((await decryptPrivateKey(pem, "pw-123456", "k")).equals(privateKey)).toBe(true);
    expect(encryptionParams(pem)).toEqual(CHEAP_ARGON2);
    expect(DEFAULT_ARGON2).toEqual({ memoryKiB: 65536, iterations: 3, parallelism: 4 });
    expect(pem).not.toContain(privateKey.toString("base64").slice(0, 16));
  });

  it("two encryptions of one key differ (fresh salt and nonce)", async () => {
    const { privateKey } = generateEd25519();
    expect(await encryptPrivateKey(privateKey, "pw-123456", CHEAP_ARGON2)).not.toBe(
      await encryptPrivateKey(privateKey, "pw-123456", CHEAP_ARGON2),
    );
  });

  const damaged: [string, string, RegExp][] = [
    [
      "an unencrypted key",
      ed25519KeyToPem(generateEd25519().privateKey).reveal(),
      /ca\.key: this CA key is not encrypted/,
    ],
    [
      "a certificate",
      fixture("nebula-ca.crt"),
      /ca\.key is not a PEM block "NEBULA ED25519 ENCRYPTED PRIVATE KEY" \(it holds "NEBULA CERTIFICATE"\)/,
    ],
    [
      "another algorithm",
      toPem(
        "NEBULA ED25519 ENCRYPTED PRIVATE KEY",
        new Writer().bytes(1, new Writer().bytes(1, "ChaCha20").finish()).finish(),
      ),
      /encrypted with ChaCha20; only AES-256-GCM/,
    ],
    [
      "garbage",
      toPem("NEBULA ED25519 ENCRYPTED PRIVATE KEY", Buffer.from("ffffffffffffffffffff", "hex")),
      /ca\.key: not a valid encrypted Nebula key/,
    ],
  ];
  it.each(damaged)("%s is a clear error", async (_name, pem, message) => {
    const err = await errorOf(() => decryptPrivateKey(pem, "pw-123456", "ca.key"));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(message);
  });

  it("a flipped bit is caught by the GCM tag", async () => {
    const pem = await encryptPrivateKey(generateEd25519().privateKey, "pw-123456", CHEAP_ARGON2);
    const bytes = fromPem("NEBULA ED25519 ENCRYPTED PRIVATE KEY", pem);
    bytes[bytes.length - 20] ^= 1;
    await expect(
      decryptPrivateKey(toPem("NEBULA ED25519 ENCRYPTED PRIVATE KEY", bytes), "pw-123456", "k"),
    ).rejects.toThrow(/wrong passphrase for the CA key k \(or the file is damaged\)/);
  });

  it("plain CA keys as nebula-cert writes them are read, and a damaged one is refused", () => {
    const { privateKey } = generateEd25519();
    expect(ed25519KeyFromPem(ed25519KeyToPem(privateKey).reveal()).equals(privateKey)).toBe(true);
    const broken = Buffer.from(privateKey);
    broken[40] ^= 1;
    expect(() => ed25519KeyFromPem(ed25519KeyToPem(broken).reveal(), "old.key")).toThrow(
      /old\.key: the key is damaged/,
    );
    expect(String(ed25519KeyToPem(privateKey))).toBe("***");
  });
});
