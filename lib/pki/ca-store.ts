// The mesh CA on the maintainer's disk: ca.crt, ca.key encrypted with a passphrase, and the register of issued certificates.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import { certFromPem, certToPem, fingerprint, signDetails, type Cert } from "./cert.ts";
import { decryptPrivateKey, encryptPrivateKey, type Argon2Params } from "./encrypted-key.ts";
import { generateEd25519 } from "./keys.ts";
import { withLock } from "../lock.ts";

export interface IssuedEntry {
  name: string;
  ips: string[];
  groups: string[];
  fingerprint: string;
  notBefore: string;
  notAfter: string;
}

const DAY = 86_400_000;

function writeAtomic(file: string, content: string, mode: number) {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, file);
}

export class CaStore {
  constructor(readonly dir: string) {}
  get certFile() {
    return join(this.dir, "ca.crt");
  }
  get keyFile() {
    return join(this.dir, "ca.key");
  }
  get issuedFile() {
    return join(this.dir, "issued.json");
  }
  exists(): boolean {
    return existsSync(this.certFile) && existsSync(this.keyFile);
  }

  /** Creates the CA unless it exists; its key is stored only encrypted. */
  create(options: { name: string; passphrase: string; days?: number; groups?: string[]; ips?: string[]; argon2?: Argon2Params }): Cert {
    if (this.exists()) throw new UserError(`a CA already exists in ${this.dir}; refusing to replace it`);
    if (options.passphrase.length < 8) throw new UserError("the CA passphrase must be at least 8 characters");
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const { privateKey, publicKey } = generateEd25519();
    const now = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    const ca = signDetails(
      { name: options.name, ips: options.ips ?? [], subnets: [], groups: options.groups ?? [], notBefore: now, notAfter: new Date(now.getTime() + (options.days ?? 3650) * DAY), publicKey, isCA: true, issuer: "" },
      privateKey,
    );
    writeAtomic(this.keyFile, encryptPrivateKey(privateKey, options.passphrase, options.argon2), 0o600);
    writeAtomic(this.certFile, certToPem(ca), 0o644);
    return ca;
  }

  cert(): Cert {
    if (!existsSync(this.certFile)) throw new UserError(`no CA in ${this.dir}`, "create one with: npx tsx tasks/deploy-hub.ts --init-ca");
    return certFromPem(readFileSync(this.certFile, "utf8"), this.certFile);
  }

  /** The CA's private key, decrypted in memory only. */
  unlock(passphrase: string): Buffer {
    return decryptPrivateKey(readFileSync(this.keyFile, "utf8"), passphrase, this.keyFile);
  }

  issued(): IssuedEntry[] {
    return existsSync(this.issuedFile) ? JSON.parse(readFileSync(this.issuedFile, "utf8")) : [];
  }

  /** Records a certificate (replacing the node's earlier one), under a lock: two enrollments may sign at once. */
  async record(cert: Cert): Promise<void> {
    await withLock(`${this.issuedFile}.lock`, () => {
      const entries = this.issued().filter((e) => e.name !== cert.details.name);
      entries.push({
        name: cert.details.name,
        ips: cert.details.ips,
        groups: cert.details.groups,
        fingerprint: fingerprint(cert),
        notBefore: cert.details.notBefore.toISOString(),
        notAfter: cert.details.notAfter.toISOString(),
      });
      entries.sort((a, b) => a.name.localeCompare(b.name));
      writeAtomic(this.issuedFile, `${JSON.stringify(entries, null, 2)}\n`, 0o644);
    });
  }

  certsExpiringWithin(days: number, now = new Date()): IssuedEntry[] {
    return this.issued().filter((e) => new Date(e.notAfter).getTime() - now.getTime() < days * DAY);
  }
}
