// The CA as roles use it: issue and check node certificates (roles/nebula/identity.ts's CertAuthority).
import type { Secret } from "../command.ts";
import { BANNERS, fromPem } from "./pem.ts";
import { certFromPem, certToPem, signHostCert, verifyCert, type NebulaCert } from "./cert.ts";
import { CaStore } from "./ca-store.ts";
import { ed25519PublicOf, generateX25519 } from "./keys.ts";
import { UserError } from "../errors.ts";
import type { CertAuthority, CertRequest } from "../../roles/nebula/identity.ts";

const DAY = 86_400_000;
const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join() === [...b].sort().join();

/** The role's CertAuthority, plus the CA certificate, raw public keys of new pairs, and the register writes still under way. */
export type OpenAuthority = Omit<CertAuthority, "generateKeyPair"> & {
  ca: NebulaCert;
  pending: Promise<void>[];
  generateKeyPair: typeof generateX25519;
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
    record(certPem: string) {
      pending.push(store.record(certFromPem(certPem)));
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
