// The mesh CA on the maintainer's disk: ca.crt, ca.key encrypted with a passphrase, and the register of issued certificates.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import { withLock } from "../lock.ts";
import { writeFileAtomic } from "../atomic-file.ts";
import { caProblems, certFromPem, certToPem, createCA, fingerprint, type NebulaCert } from "./cert.ts";
import type { Duration } from "./duration.ts";
import { decryptPrivateKey, encryptPrivateKey, type Argon2Params, type Passphrase } from "./encrypted-key.ts";
import { ed25519KeyFromPem, ed25519PublicOf } from "./keys.ts";

/** One node's current certificate in issued.json. */
export interface IssuedEntry {
  name: string;
  /** "10.0.4.65/16" */
  ip: string;
  groups: string[];
  subnets: string[];
  fingerprint: string;
  /** ISO 8601 */
  notBefore: string;
  notAfter: string;
}

const DAY = 86_400_000;
export const MIN_PASSPHRASE_LENGTH = 8;
const reveal = (p: Passphrase) => (typeof p === "string" ? p : p.reveal());

export interface CreateCaInStore {
  name: string;
  passphrase: Passphrase;
  /** Default 10 years. */
  duration?: Duration;
  /** Older spelling of duration, in days. */
  days?: number;
  groups?: string[];
  ips?: string[];
  subnets?: string[];
  argon2?: Argon2Params;
}

export class CaStore {
  constructor(readonly dir: string) {}
  get certFile(): string {
    return join(this.dir, "ca.crt");
  }
  get keyFile(): string {
    return join(this.dir, "ca.key");
  }
  get issuedFile(): string {
    return join(this.dir, "issued.json");
  }
  exists(): boolean {
    return existsSync(this.certFile) && existsSync(this.keyFile);
  }

  /** Creates the CA unless one exists; its key is written only encrypted, mode 0600. */
  async create(options: CreateCaInStore): Promise<NebulaCert> {
    return (await this.createAndUnlock(options)).cert;
  }

  /** As create, and also returns the key in memory (saves the seconds of Argon2 a later unlock would cost). */
  async createAndUnlock(options: CreateCaInStore): Promise<{ cert: NebulaCert; key: Buffer }> {
    const { cert, key } = createCA({
      name: options.name,
      groups: options.groups,
      ips: options.ips,
      subnets: options.subnets,
      duration: options.duration ?? (options.days ? options.days * DAY : "3650d"),
    });
    await this.#save(cert, key, options.passphrase, options.argon2);
    return { cert, key };
  }

  /** Takes in a CA made by nebula-cert (unencrypted key PEM) and stores its key encrypted. */
  async importCa(options: {
    certPem: string;
    keyPem: string;
    passphrase: Passphrase;
    argon2?: Argon2Params;
  }): Promise<NebulaCert> {
    const cert = certFromPem(options.certPem, "imported CA certificate");
    const key = ed25519KeyFromPem(options.keyPem, "imported CA key");
    const problems = caProblems(cert).filter((p) => !/expired|not valid before/.test(p));
    if (problems.length) throw new UserError(`cannot import the CA: ${problems.join("; ")}`);
    if (!ed25519PublicOf(key).equals(cert.details.publicKey))
      throw new UserError("cannot import the CA: the key does not belong to the certificate");
    await this.#save(cert, key, options.passphrase, options.argon2);
    return cert;
  }

  async #save(cert: NebulaCert, key: Buffer, passphrase: Passphrase, argon2?: Argon2Params): Promise<void> {
    if (this.exists()) throw new UserError(`a CA already exists in ${this.dir}; refusing to replace it`);
    if (reveal(passphrase).length < MIN_PASSPHRASE_LENGTH)
      throw new UserError(`the CA passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`);
    const sealed = await encryptPrivateKey(key, passphrase, argon2);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(this.keyFile, sealed, { mode: 0o600 });
    writeFileAtomic(this.certFile, certToPem(cert), { mode: 0o600 }); // as nebula-cert writes it
  }

  cert(): NebulaCert {
    if (!existsSync(this.certFile))
      throw new UserError(`no CA in ${this.dir}`, "create one with: npx tsx tasks/deploy-hub.ts --init-ca");
    return certFromPem(readFileSync(this.certFile, "utf8"), this.certFile);
  }

  /** The CA's private key, decrypted in memory only; checked against ca.crt. */
  async unlock(passphrase: Passphrase): Promise<Buffer> {
    if (!existsSync(this.keyFile)) throw new UserError(`no CA key in ${this.dir} (expected ${this.keyFile})`);
    const key = await decryptPrivateKey(readFileSync(this.keyFile, "utf8"), passphrase, this.keyFile);
    if (!ed25519PublicOf(key).equals(this.cert().details.publicKey))
      throw new UserError(`${this.keyFile} does not belong to ${this.certFile}`);
    return key;
  }

  issued(): IssuedEntry[] {
    if (!existsSync(this.issuedFile)) return [];
    let entries: unknown;
    try {
      entries = JSON.parse(readFileSync(this.issuedFile, "utf8"));
    } catch (err) {
      throw new UserError(
        `${this.issuedFile} is not valid JSON: ${(err as Error).message}`,
        "restore it from a backup, or remove it (it is rebuilt as nodes are enrolled again)",
      );
    }
    if (!Array.isArray(entries)) throw new UserError(`${this.issuedFile} should hold a list of issued certificates`);
    // Files written before `ip` existed carried `ips`.
    return entries.map((e: IssuedEntry & { ips?: string[] }) => ({
      ...e,
      ip: e.ip ?? e.ips?.[0] ?? "",
      subnets: e.subnets ?? [],
    }));
  }

  /** Records a node's certificate (replacing its earlier one) under a lock: two enrollments may sign at once. */
  async record(cert: NebulaCert): Promise<void> {
    const d = cert.details;
    const entry: IssuedEntry = {
      name: d.name,
      ip: d.ips[0] ?? "",
      groups: d.groups,
      subnets: d.subnets,
      fingerprint: fingerprint(cert),
      notBefore: d.notBefore.toISOString(),
      notAfter: d.notAfter.toISOString(),
    };
    await withLock(`${this.issuedFile}.lock`, () => {
      const entries = this.issued().filter((e) => e.name !== entry.name);
      entries.push(entry);
      entries.sort((a, b) => a.name.localeCompare(b.name));
      writeFileAtomic(this.issuedFile, `${JSON.stringify(entries, null, 2)}\n`, { mode: 0o600 });
    });
  }

  /** Nodes whose certificate ends within `days` (or has ended): the ones a run should renew. */
  certsExpiringWithin(days: number, now = new Date()): IssuedEntry[] {
    return this.issued().filter((e) => new Date(e.notAfter).getTime() - now.getTime() < days * DAY);
  }
}
