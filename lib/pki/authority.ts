// The CA as roles use it: issue and check node certificates (roles/nebula/identity.ts's CertAuthority).
import type { Secret } from "../command.ts";
import { BANNERS, fromPem } from "./pem.ts";
import { certFromPem, certToPem, fingerprint, signHostCert, verifyCert, type NebulaCert } from "./cert.ts";
import { CaStore, entryOf, type IssuedEntry } from "./ca-store.ts";
import { ed25519PublicOf, generateX25519 } from "./keys.ts";
import { UserError } from "../errors.ts";
import type { CertAuthority, CertRequest } from "../../roles/nebula/identity.ts";

const DAY = 86_400_000;
const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join() === [...b].sort().join();

/** A certificate a node carries that the register lacked (`missing`) or had as sent, not known to be there (`pending`). */
export interface Settled {
  entry: IssuedEntry;
  was: "missing" | "pending";
}

/** The role's CertAuthority, plus the CA certificate, raw public keys of new pairs, and the register writes still under way. */
export type OpenAuthority = Omit<CertAuthority, "generateKeyPair"> & {
  ca: NebulaCert;
  pending: Promise<void>[];
  generateKeyPair: typeof generateX25519;
  /**
   * Once a run's plays are done: waits for the register's writes, then adds every valid certificate of this CA that a
   * node was found carrying and the register lacked or had only as pending (under `check`, writes nothing). Returns
   * those it added or confirmed (or would).
   */
  settle(options?: { check?: boolean }): Promise<Settled[]>;
};

/**
 * Unlocks the store's CA key (in memory only) and returns the role's view of it; `pending` holds register writes.
 * `unlock` is the passphrase, or the key itself when the caller has just created the CA (createAndUnlock).
 */
export async function openAuthority(store: CaStore, unlock: string | Secret | Buffer): Promise<OpenAuthority> {
  const ca = store.cert();
  const caKey = Buffer.isBuffer(unlock) ? unlock : await store.unlock(unlock);
  if (!ed25519PublicOf(caKey).equals(ca.details.publicKey))
    throw new UserError(`the CA key given does not belong to ${store.certFile}`);
  const pending: Promise<void>[] = [];
  // What each node was found carrying (valid, this CA's), by name, until it is in the register or replaced this run.
  const carried = new Map<string, NebulaCert>();
  return {
    ca,
    caCertPem: certToPem(ca),
    pending,
    generateKeyPair: () => generateX25519(),
    issue(request: CertRequest, publicKeyPem: string): string {
      // A certificate never outlives its CA: a request for longer ends a second before the CA does.
      const untilCaEnds = ca.details.notAfter.getTime() - Date.now() - 1000;
      const duration = request.days * DAY >= untilCaEnds ? undefined : request.days * DAY;
      const cert = signHostCert({
        ca,
        caKey,
        name: request.name,
        ip: request.ip,
        groups: request.groups,
        subnets: request.subnets,
        duration,
        publicKey: publicKeyPem,
      });
      return certToPem(cert);
    },
    carries(certPem: string) {
      let cert: NebulaCert;
      try {
        cert = certFromPem(certPem);
      } catch {
        return;
      }
      // Only this CA's valid certificates: a foreign or expired one is no certificate of ours to watch.
      if (verifyCert(cert, ca).length === 0) carried.set(cert.details.name, cert);
    },
    async sending(certPem: string) {
      const cert = certFromPem(certPem);
      // What the node carries now is in the register first (it stays there until the new one has arrived), then the
      // new one, pending. A certificate recorded but never delivered (the run cut short before it reached the node)
      // is harmless: the node's own entry is kept beside it, the expiry watch sees both (so the older end still
      // alerts), the hub's internet subnets count only when every entry of the hub has them, and the next run finds
      // the node still without it, issues again and drops it.
      const old = carried.get(cert.details.name);
      carried.delete(cert.details.name);
      if (old) await store.record(old);
      await store.recordPending(cert);
    },
    record(certPem: string) {
      pending.push(store.record(certFromPem(certPem)).then(() => undefined));
    },
    async settle(options = {}) {
      await Promise.all(pending);
      const added: Settled[] = [];
      for (const [name, cert] of carried) {
        carried.delete(name);
        const fp = fingerprint(cert);
        const known = store.issued().find((e) => e.fingerprint === fp);
        if (known && !known.pending) continue;
        if (!options.check) await store.record(cert);
        added.push({ entry: entryOf(cert), was: known ? "pending" : "missing" });
      }
      return added;
    },
    problems(certPem: string, request: CertRequest, publicKeyPem: string | null, renewDays: number): string[] {
      let cert: NebulaCert;
      try {
        cert = certFromPem(certPem);
      } catch {
        return ["the certificate on the node cannot be read"];
      }
      const problems = verifyCert(cert, ca);
      const d = cert.details;
      if (d.name !== request.name) problems.push(`named ${d.name}, not ${request.name}`);
      if (!sameSet(d.ips, [request.ip])) problems.push(`carries ${d.ips.join(", ")}, not ${request.ip}`);
      if (!sameSet(d.groups, request.groups))
        problems.push(`groups ${d.groups.join(",")} should be ${request.groups.join(",")}`);
      if (!sameSet(d.subnets, request.subnets))
        problems.push(`subnets ${d.subnets.join(",") || "none"} should be ${request.subnets.join(",") || "none"}`);
      let nodeKey: Buffer | null = null;
      try {
        nodeKey = publicKeyPem === null ? null : fromPem(BANNERS.x25519Public, publicKeyPem, "host.pub");
      } catch {
        nodeKey = null;
      }
      if (nodeKey === null || !nodeKey.equals(d.publicKey)) problems.push("does not match the node's key");
      if (d.notAfter.getTime() - Date.now() < renewDays * DAY)
        problems.push(`expires ${d.notAfter.toISOString().slice(0, 10)}, within ${renewDays} days: renewing`);
      return problems;
    },
  };
}
