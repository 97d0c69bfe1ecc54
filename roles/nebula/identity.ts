// The node's Nebula identity: private key, public key and certificate, issued by the CA only when missing, wrong or expiring.
import { sh } from "../../lib/command.ts";
import type { Secret } from "../../lib/command.ts";
import { contentFact, pathFact } from "../../lib/facts/files.ts";
import type { Resource, ResourceOptions } from "../../lib/resources/resource.ts";
import { writeFileCommand } from "../../lib/resources/write-file.ts";

export interface CertRequest {
  name: string;
  /** "10.0.4.65/16" */
  ip: string;
  groups: string[];
  subnets: string[];
  days: number;
}

/** What the role needs of the CA: the engine's PKI (lib/pki) provides it. */
export interface CertAuthority {
  readonly caCertPem: string;
  /** A fresh X25519 key pair; the private key exists only in memory and goes to the node. */
  generateKeyPair(): { publicKeyPem: string; privateKeyPem: Secret };
  /** Signs a certificate for the public key (PEM). */
  issue(request: CertRequest, publicKeyPem: string): string;
  /**
   * Enters a certificate in the register just before it is sent to the node (awaited: the node never has a
   * certificate the register lacks).
   */
  sending(certPem: string): Promise<void>;
  /** Records an issued certificate once it is on the node (for renewal and expiry alerts). */
  record(certPem: string): void;
  /**
   * The certificate the node carries now, as gathered (kept in memory: the register gets it if it lacks it, once the
   * run is done, or before a replacement is sent). The register is rebuilt from the nodes this way.
   */
  carries(certPem: string): void;
  /** Why this certificate does not do for the request (empty: it does), renewing when it ends within renewDays. */
  problems(certPem: string, request: CertRequest, publicKeyPem: string | null, renewDays: number): string[];
}

export interface IdentitySpec extends ResourceOptions {
  dir: string;
  ca: CertAuthority;
  request: CertRequest;
  renewDays: number;
}

export function nebulaIdentity(spec: IdentitySpec): Resource {
  const cert = contentFact(`${spec.dir}/host.crt`);
  const pub = contentFact(`${spec.dir}/host.pub`);
  const key = pathFact(`${spec.dir}/host.key`);
  return {
    name: `Issue the Nebula certificate for ${spec.request.name} (${spec.request.ip})`,
    notify: spec.notify,
    tags: spec.tags,
    facts: [cert, pub, key],
    plan(read) {
      const certPem = read(cert);
      const pubPem = read(pub);
      const keyState = read(key);
      if (certPem !== null) spec.ca.carries(certPem);
      const problems =
        certPem === null || pubPem === null || !keyState.exists
          ? ["no certificate or key yet"]
          : spec.ca.problems(certPem, spec.request, pubPem, spec.renewDays);
      if (problems.length === 0) {
        return keyState.mode === "0600"
          ? null
          : { commands: [sh`chmod 0600 ${`${spec.dir}/host.key`}`], summary: "key mode -> 0600" };
      }
      // A new key every time a certificate is issued: a key that may have leaked is never re-certified.
      const pair = spec.ca.generateKeyPair();
      const issued = spec.ca.issue(spec.request, pair.publicKeyPem);
      return {
        summary: problems.join("; "),
        beforeApply: () => spec.ca.sending(issued),
        onApplied: () => spec.ca.record(issued),
        commands: [
          writeFileCommand({
            path: `${spec.dir}/host.key`,
            content: pair.privateKeyPem.reveal(),
            mode: "0600",
            secret: true,
          }),
          writeFileCommand({ path: `${spec.dir}/host.pub`, content: pair.publicKeyPem, mode: "0644" }),
          writeFileCommand({ path: `${spec.dir}/host.crt`, content: issued, mode: "0644" }),
        ],
      };
    },
  };
}
