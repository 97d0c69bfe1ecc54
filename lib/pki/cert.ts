// Nebula v1 certificates: marshal exactly as Nebula does (it re-marshals before checking a signature), sign, verify, print.
import { createHash, createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { BANNERS, fromPem, toPem } from "./pem.ts";
import { readFields, unpackUint32, Writer } from "./protobuf.ts";

export interface CertDetails {
  name: string;
  /** "10.0.4.65/16": the host address with the network's mask. */
  ips: string[];
  subnets: string[];
  groups: string[];
  notBefore: Date;
  notAfter: Date;
  publicKey: Buffer;
  isCA: boolean;
  /** Hex SHA-256 of the issuing CA's certificate; "" for a CA. */
  issuer: string;
}

export interface Cert {
  details: CertDetails;
  signature: Buffer;
}

const ipToUint = (ip: string) => ip.split(".").reduce((n, p) => n * 256 + Number(p), 0) >>> 0;
const uintToIp = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
const maskOf = (bits: number) => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);
const bitsOf = (mask: number) => mask.toString(2).replace(/0+$/, "").length;

export function parseCidr(cidr: string): { ip: number; mask: number; bits: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
  if (!m || m[1].split(".").some((p) => Number(p) > 255) || Number(m[2]) > 32) throw new Error(`"${cidr}" is not an IPv4 CIDR like 10.0.4.65/16`);
  return { ip: ipToUint(m[1]), mask: maskOf(Number(m[2])), bits: Number(m[2]) };
}

const pairs = (cidrs: readonly string[]) => cidrs.flatMap((c) => {
  const p = parseCidr(c);
  return [p.ip, p.mask];
});

export function marshalDetails(d: CertDetails): Buffer {
  return new Writer()
    .bytes(1, d.name)
    .packedUint32(2, pairs(d.ips))
    .packedUint32(3, pairs(d.subnets))
    .strings(4, d.groups)
    .varint(5, BigInt(Math.floor(d.notBefore.getTime() / 1000)))
    .varint(6, BigInt(Math.floor(d.notAfter.getTime() / 1000)))
    .bytes(7, d.publicKey)
    .varint(8, d.isCA)
    .bytes(9, d.issuer ? Buffer.from(d.issuer, "hex") : Buffer.alloc(0))
    .finish();
}

export const marshalCert = (c: Cert): Buffer => new Writer().bytes(1, marshalDetails(c.details)).bytes(2, c.signature).finish();

function toCidrs(values: number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < values.length; i += 2) out.push(`${uintToIp(values[i])}/${bitsOf(values[i + 1])}`);
  return out;
}

export function unmarshalCert(buf: Buffer): Cert {
  let detailsBuf: Buffer = Buffer.alloc(0);
  let signature = Buffer.alloc(0);
  for (const f of readFields(buf)) {
    if (f.kind !== "bytes") continue;
    if (f.n === 1) detailsBuf = f.value;
    if (f.n === 2) signature = Buffer.from(f.value);
  }
  const d: CertDetails = { name: "", ips: [], subnets: [], groups: [], notBefore: new Date(0), notAfter: new Date(0), publicKey: Buffer.alloc(0), isCA: false, issuer: "" };
  for (const f of readFields(detailsBuf)) {
    if (f.kind === "bytes") {
      if (f.n === 1) d.name = f.value.toString("utf8");
      else if (f.n === 2) d.ips.push(...toCidrs(unpackUint32(f.value)));
      else if (f.n === 3) d.subnets.push(...toCidrs(unpackUint32(f.value)));
      else if (f.n === 4) d.groups.push(f.value.toString("utf8"));
      else if (f.n === 7) d.publicKey = Buffer.from(f.value);
      else if (f.n === 9) d.issuer = f.value.toString("hex");
    } else {
      if (f.n === 5) d.notBefore = new Date(Number(BigInt.asIntN(64, f.value)) * 1000);
      else if (f.n === 6) d.notAfter = new Date(Number(BigInt.asIntN(64, f.value)) * 1000);
      else if (f.n === 8) d.isCA = f.value !== 0n;
    }
  }
  return { details: d, signature };
}

export const certToPem = (c: Cert) => toPem(BANNERS.cert, marshalCert(c));
export const certFromPem = (text: string, what = "certificate") => unmarshalCert(fromPem(BANNERS.cert, text, what));
/** Hex SHA-256 of the marshalled certificate, as `nebula-cert print` shows it. */
export const fingerprint = (c: Cert) => createHash("sha256").update(marshalCert(c)).digest("hex");

const ed25519Private = (seed: Buffer, pub: Buffer) =>
  createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", d: seed.toString("base64url"), x: pub.toString("base64url") }, format: "jwk" });
const ed25519Public = (pub: Buffer) => createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: pub.toString("base64url") }, format: "jwk" });

/** Signs details with the CA's 64-byte Ed25519 key (seed || public). */
export function signDetails(details: CertDetails, caKey: Buffer): Cert {
  const signature = sign(null, marshalDetails(details), ed25519Private(caKey.subarray(0, 32), caKey.subarray(32, 64)));
  return { details, signature };
}

export const checkSignature = (c: Cert, caPublicKey: Buffer): boolean => {
  try {
    return verify(null, marshalDetails(c.details), ed25519Public(caPublicKey), c.signature);
  } catch {
    return false;
  }
};

const within = (inner: string, outer: string) => {
  const a = parseCidr(inner);
  const b = parseCidr(outer);
  return a.bits >= b.bits && (a.ip & b.mask) >>> 0 === (b.ip & b.mask) >>> 0;
};

/** Every reason this certificate is not valid under this CA at `now` (empty: valid). Never includes key material. */
export function verifyCert(c: Cert, ca: Cert, now = new Date()): string[] {
  const d = c.details;
  const problems: string[] = [];
  if (!ca.details.isCA) problems.push(`the issuer certificate "${ca.details.name}" is not a CA`);
  if (d.issuer !== fingerprint(ca)) problems.push(`issued by another CA (issuer ${d.issuer || "none"}, expected ${fingerprint(ca)})`);
  else if (!checkSignature(c, ca.details.publicKey)) problems.push("signature does not match the CA");
  if (now < d.notBefore) problems.push(`not valid before ${d.notBefore.toISOString()}`);
  if (now > d.notAfter) problems.push(`expired on ${d.notAfter.toISOString()}`);
  if (d.notAfter > ca.details.notAfter) problems.push(`outlives its CA (${d.notAfter.toISOString()} > ${ca.details.notAfter.toISOString()})`);
  if (d.notBefore < ca.details.notBefore) problems.push(`starts before its CA (${d.notBefore.toISOString()} < ${ca.details.notBefore.toISOString()})`);
  if (ca.details.groups.length) for (const g of d.groups) if (!ca.details.groups.includes(g)) problems.push(`group "${g}" is not allowed by the CA`);
  if (ca.details.ips.length) for (const ip of d.ips) if (!ca.details.ips.some((o) => within(ip, o))) problems.push(`ip ${ip} is outside the CA's networks ${ca.details.ips.join(", ")}`);
  if (ca.details.subnets.length) for (const s of d.subnets) if (!ca.details.subnets.some((o) => within(s, o))) problems.push(`subnet ${s} is outside the CA's subnets ${ca.details.subnets.join(", ")}`);
  return problems;
}

/** A human printout like `nebula-cert print`. */
export function describeCert(c: Cert): string {
  const d = c.details;
  return [
    `NebulaCertificate {`,
    `  Name: ${d.name}`,
    `  Ips: ${d.ips.join(", ") || "none"}`,
    `  Subnets: ${d.subnets.join(", ") || "none"}`,
    `  Groups: ${d.groups.join(", ") || "none"}`,
    `  Not before: ${d.notBefore.toISOString()}`,
    `  Not after: ${d.notAfter.toISOString()}`,
    `  Is CA: ${d.isCA}`,
    `  Issuer: ${d.issuer || "(self-signed CA)"}`,
    `  Public key: ${d.publicKey.toString("hex")}`,
    `  Fingerprint: ${fingerprint(c)}`,
    `}`,
  ].join("\n");
}
