// Passwords of the hub's services: one random seed, generated once, kept beside the inventory encrypted like the CA key.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { hkdfSync, randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { Secret } from "../command.ts";
import { UserError } from "../errors.ts";
import type { Inventory } from "../inventory/types.ts";
import { writeFileAtomic } from "../atomic-file.ts";
import { decryptPrivateKey, encryptPrivateKey, type Argon2Params, type Passphrase } from "../pki/encrypted-key.ts";
import { RunPassphrase } from "../pki/passphrase.ts";

/**
 * The seed is 64 random bytes sealed with the CA key's scheme (Argon2id + AES-256-GCM, lib/pki/encrypted-key.ts):
 * the file carries the CA key's PEM banner because it is the same container, though the bytes are a seed, not a key.
 * Each service secret is HKDF-SHA256(seed, name): stable across runs, new names need no new file, and nothing but
 * the sealed seed is ever written on the maintainer's disk.
 */
export interface ServiceSecrets {
  /** The secret called `name` (e.g. "postgres_password"): 32 URL-safe characters, printed as *** anywhere. */
  get(name: string): Secret;
  readonly file: string;
}

export const serviceSecretsFile = (inventory: Inventory): string =>
  join(dirname(inventory.file), "secrets", "services.key");

const SEED_BYTES = 64;

function fromSeed(seed: Buffer, file: string): ServiceSecrets {
  return {
    file,
    get(name: string): Secret {
      if (!/^[a-z0-9_.-]+$/.test(name)) throw new Error(`secret names are lower-case words, not "${name}"`);
      const bytes = Buffer.from(hkdfSync("sha256", seed, "community-mesh-isp service secrets", name, 24));
      return new Secret(bytes.toString("base64url"));
    },
  };
}

/** Opens the sealed seed in `file`, creating it first (once) when it does not exist. */
export async function openSecretsFile(
  file: string,
  passphrase: Passphrase,
  argon2?: Argon2Params,
): Promise<ServiceSecrets> {
  if (!existsSync(file)) {
    const seed = randomBytes(SEED_BYTES);
    const sealed = await encryptPrivateKey(seed, passphrase, argon2);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileAtomic(file, sealed, { mode: 0o600 });
    return fromSeed(seed, file);
  }
  const seed = await decryptPrivateKey(readFileSync(file, "utf8"), passphrase, file);
  return fromSeed(seed, file);
}

/**
 * The inventory's service secrets, unlocked with the CA's passphrase: the run's (`passphrase`, asked when the CA was
 * opened), else MESH_CA_PASSPHRASE or a prompt.
 */
export async function openServiceSecrets(
  inventory: Inventory,
  options: { check?: boolean; passphrase?: RunPassphrase } = {},
): Promise<ServiceSecrets> {
  const file = serviceSecretsFile(inventory);
  // --check plans with throwaway secrets when none exist yet: it writes nothing, and the compose file's diff masks them.
  if (options.check && !existsSync(file)) return fromSeed(randomBytes(SEED_BYTES), file);
  try {
    return await openSecretsFile(
      file,
      await (options.passphrase ?? new RunPassphrase()).get(`Passphrase of the mesh CA (unlocks ${file}): `),
    );
  } catch (err) {
    if (err instanceof UserError && /wrong passphrase/.test(err.message)) {
      throw new UserError(
        `wrong passphrase for the hub's service secrets ${file}`,
        "it is sealed with the mesh CA's passphrase: check MESH_CA_PASSPHRASE",
      );
    }
    throw err;
  }
}
