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

/**
 * A certificate in issued.json. A node has one entry, the certificate it carries; while a new one is on its way to it,
 * also that one, marked `pending` (recorded before it is sent: the register is never behind the nodes).
 */
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
  /**
   * Signed and sent (or about to be), not yet known to be on the node: the entry it would replace stays until it is.
   * Absent on entries written before this existed: those were recorded once on the node.
   */
  pending?: true;
}

/** A certificate as the register lists it. */
export const entryOf = (cert: NebulaCert): IssuedEntry => {
  const d = cert.details;
  return {
    name: d.name,
    ip: d.ips[0] ?? "",
    groups: d.groups,
    subnets: d.subnets,
    fingerprint: fingerprint(cert),
    notBefore: d.notBefore.toISOString(),
    notAfter: d.notAfter.toISOString(),
  };
};

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
        "restore it from a backup, or remove it: the next tasks/deploy-hub.ts rebuilds it from the certificates the nodes carry",
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

  /**
   * The node carries this certificate (it was delivered, or a run found it there): it becomes the node's one entry, any
   * other of that name (the one it replaced, a pending one that never arrived) goes. False when the register already
   * said exactly so (nothing written).
   */
  async record(cert: NebulaCert): Promise<boolean> {
    const entry = entryOf(cert);
    return this.#update((entries) => [...entries.filter((e) => e.name !== entry.name), entry]);
  }

  /**
   * A certificate about to be sent to its node: added as pending beside what the node had. Recorded before the node
   * has it, so an enrollment cut short after delivery leaves nothing on a node that the register lacks.
   */
  async recordPending(cert: NebulaCert): Promise<boolean> {
    const entry: IssuedEntry = { ...entryOf(cert), pending: true };
    return this.#update((entries) =>
      entries.some((e) => e.fingerprint === entry.fingerprint) ? entries : [...entries, entry],
    );
  }

  /** Read, change and write the register under its lock (two enrollments may sign at once); false if unchanged. */
  async #update(change: (entries: IssuedEntry[]) => IssuedEntry[]): Promise<boolean> {
    return withLock(`${this.issuedFile}.lock`, () => {
      const before = this.issued();
      const after = [...change(before)].sort(
        (a, b) => a.name.localeCompare(b.name) || Number(!!a.pending) - Number(!!b.pending),
      );
      if (existsSync(this.issuedFile) && JSON.stringify(after) === JSON.stringify(before)) return false;
      writeFileAtomic(this.issuedFile, `${JSON.stringify(after, null, 2)}\n`, { mode: 0o600 });
      return true;
    });
  }

  /** Nodes whose certificate ends within `days` (or has ended): the ones a run should renew. */
  certsExpiringWithin(days: number, now = new Date()): IssuedEntry[] {
    return this.issued().filter((e) => new Date(e.notAfter).getTime() - now.getTime() < days * DAY);
  }
}
