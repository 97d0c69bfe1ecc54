// Certificates for people: the same text and JSON as `nebula-cert print` (times in UTC), never any private key.
import { fingerprint, type NebulaCert } from "./cert-format.ts";

/** Go's time.Time text in UTC: "2026-11-25 00:27:15 +0000 UTC". */
const goTime = (d: Date) => `${d.toISOString().slice(0, 19).replace("T", " ")} +0000 UTC`;
/** RFC 3339 in UTC, as Go's JSON writes a time: "2026-11-25T00:27:15Z". */
const rfc3339 = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

const list = (label: string, values: readonly string[], quoted = false) =>
  values.length
    ? [`\t\t${label}: [`, ...values.map((v) => `\t\t\t${quoted ? `"${v}"` : v}`), `\t\t]`]
    : [`\t\t${label}: []`];

/** A printout laid out like `nebula-cert print` (1.6.1) run with TZ=UTC. */
export function describeCert(c: NebulaCert): string {
  const d = c.details;
  return [
    "NebulaCertificate {",
    "\tDetails {",
    `\t\tName: ${d.name}`,
    ...list("Ips", d.ips),
    ...list("Subnets", d.subnets),
    ...list("Groups", d.groups, true),
    `\t\tNot before: ${goTime(d.notBefore)}`,
    `\t\tNot After: ${goTime(d.notAfter)}`,
    `\t\tIs CA: ${d.isCA}`,
    `\t\tIssuer: ${d.issuer}`,
    `\t\tPublic key: ${d.publicKey.toString("hex")}`,
    "\t}",
    `\tFingerprint: ${fingerprint(c)}`,
    `\tSignature: ${c.signature.toString("hex")}`,
    "}",
  ].join("\n");
}

export interface NebulaCertJson {
  details: {
    groups: string[];
    ips: string[];
    isCa: boolean;
    issuer: string;
    name: string;
    notAfter: string;
    notBefore: string;
    publicKey: string;
    subnets: string[];
  };
  fingerprint: string;
  signature: string;
}

/** The object `nebula-cert print -json` prints (times in UTC). */
export function describeCertJson(c: NebulaCert): NebulaCertJson {
  const d = c.details;
  return {
    details: {
      groups: [...d.groups],
      ips: [...d.ips],
      isCa: d.isCA,
      issuer: d.issuer,
      name: d.name,
      notAfter: rfc3339(d.notAfter),
      notBefore: rfc3339(d.notBefore),
      publicKey: d.publicKey.toString("hex"),
      subnets: [...d.subnets],
    },
    fingerprint: fingerprint(c),
    signature: c.signature.toString("hex"),
  };
}
