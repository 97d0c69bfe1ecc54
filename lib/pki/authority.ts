// The CA as roles use it: issue and check node certificates (roles/nebula/identity.ts's CertAuthority).
import { BANNERS, fromPem } from "./pem.ts";
import { certFromPem, certToPem, fingerprint, signDetails, verifyCert, type Cert } from "./cert.ts";
import { CaStore } from "./ca-store.ts";
import { generateX25519 } from "./keys.ts";
import type { CertAuthority, CertRequest } from "../../roles/nebula/identity.ts";

const DAY = 86_400_000;
const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join() === [...b].sort().join();

export function openAuthority(store: CaStore, passphrase: string): CertAuthority & { ca: Cert; pending: Promise<void>[] } {
  const ca = store.cert();
  const caKey = store.unlock(passphrase);
  const caCertPem = certToPem(ca);
  const pending: Promise<void>[] = [];
  return {
    ca,
    caCertPem,
    pending,
    generateKeyPair: () => generateX25519(),
    issue(request: CertRequest, publicKeyPem: string): string {
      const notBefore = new Date(Math.max(Math.floor(Date.now() / 1000) * 1000 - 60_000, ca.details.notBefore.getTime()));
      const notAfter = new Date(Math.min(notBefore.getTime() + request.days * DAY, ca.details.notAfter.getTime() - 1000));
      const cert = signDetails(
        {
          name: request.name,
          ips: [request.ip],
          subnets: request.subnets,
          groups: request.groups,
          notBefore,
          notAfter,
          publicKey: fromPem(BANNERS.x25519Public, publicKeyPem, "public key"),
          isCA: false,
          issuer: fingerprint(ca),
        },
        caKey,
      );
      return certToPem(cert);
    },
    record(certPem: string) {
      pending.push(store.record(certFromPem(certPem)));
    },
    problems(certPem: string, request: CertRequest, publicKeyPem: string | null, renewDays: number): string[] {
      let cert: Cert;
      try {
        cert = certFromPem(certPem);
      } catch {
        return ["the certificate on the node cannot be read"];
      }
      const problems = verifyCert(cert, ca);
      const d = cert.details;
      if (d.name !== request.name) problems.push(`named ${d.name}, not ${request.name}`);
      if (!sameSet(d.ips, [request.ip])) problems.push(`carries ${d.ips.join(", ")}, not ${request.ip}`);
      if (!sameSet(d.groups, request.groups)) problems.push(`groups ${d.groups.join(",")} should be ${request.groups.join(",")}`);
      if (!sameSet(d.subnets, request.subnets)) problems.push(`subnets ${d.subnets.join(",") || "none"} should be ${request.subnets.join(",") || "none"}`);
      if (publicKeyPem === null || !fromPem(BANNERS.x25519Public, publicKeyPem, "host.pub").equals(d.publicKey)) problems.push("does not match the node's key");
      if (d.notAfter.getTime() - Date.now() < renewDays * DAY) problems.push(`expires ${d.notAfter.toISOString().slice(0, 10)}, within ${renewDays} days: renewing`);
      return problems;
    },
  };
}
