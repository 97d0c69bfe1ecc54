// Nebula v1 certificates on the wire: marshal exactly as Nebula does (it re-marshals before checking a signature), PEM, fingerprint.
import { createHash, createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { UserError } from "../errors.ts";
import { cidrsToPairs, pairsToCidrs } from "./cidr.ts";
import { allFromPem, BANNERS, fromPem, toPem } from "./pem.ts";
import { readFields, unpackUint32, Writer } from "./protobuf.ts";

export interface NebulaCertDetails {
  name: string;
  /** "10.0.4.65/16": the host address with the network's mask. */
  ips: string[];
  subnets: string[];
  groups: string[];
  notBefore: Date;
  notAfter: Date;
  /** X25519 public key of a host, Ed25519 public key of a CA (32 bytes). */
  publicKey: Buffer;
  isCA: boolean;
  /** Hex SHA-256 of the issuing CA's certificate; "" for a CA. */
  issuer: string;
}

export interface NebulaCert {
  details: NebulaCertDetails;
  signature: Buffer;
}

const unixSeconds = (d: Date) => BigInt(Math.floor(d.getTime() / 1000));

/** The Details message in canonical proto3: fields in number order, defaults left out, uint32 lists packed. */
function marshalDetails(d: NebulaCertDetails): Buffer {
  return new Writer()
    .bytes(1, d.name)
    .packedUint32(2, cidrsToPairs(d.ips, `certificate "${d.name}": ip`))
    .packedUint32(3, cidrsToPairs(d.subnets, `certificate "${d.name}": subnet`))
    .strings(4, d.groups)
    .varint(5, unixSeconds(d.notBefore))
    .varint(6, unixSeconds(d.notAfter))
    .bytes(7, d.publicKey)
    .varint(8, d.isCA)
    .bytes(9, d.issuer ? Buffer.from(d.issuer, "hex") : Buffer.alloc(0))
    .finish();
}

export const marshalCert = (c: NebulaCert): Buffer =>
  new Writer().bytes(1, marshalDetails(c.details)).bytes(2, c.signature).finish();

const emptyDetails = (): NebulaCertDetails => ({
  name: "",
  ips: [],
  subnets: [],
  groups: [],
  notBefore: new Date(0),
  notAfter: new Date(0),
  publicKey: Buffer.alloc(0),
  isCA: false,
  issuer: "",
});

/** Reads a marshalled certificate; `what` (a file name, say) starts every error. */
export function unmarshalCert(buf: Buffer, what = "certificate"): NebulaCert {
  try {
    let detailsBuf: Buffer | undefined;
    let signature = Buffer.alloc(0);
    for (const f of readFields(buf)) {
      if (f.kind === "bytes" && f.n === 1) detailsBuf = f.value;
      if (f.kind === "bytes" && f.n === 2) signature = Buffer.from(f.value);
    }
    if (!detailsBuf) throw new UserError(`${what}: the certificate has no details`);
    const d = emptyDetails();
    const ips: number[] = [];
    const subnets: number[] = [];
    for (const f of readFields(detailsBuf)) {
      if (f.kind === "bytes") {
        if (f.n === 1) d.name = f.value.toString("utf8");
        else if (f.n === 2) ips.push(...unpackUint32(f.value));
        else if (f.n === 3) subnets.push(...unpackUint32(f.value));
        else if (f.n === 4) d.groups.push(f.value.toString("utf8"));
        else if (f.n === 7) d.publicKey = Buffer.from(f.value);
        else if (f.n === 9) d.issuer = f.value.toString("hex");
      } else if (f.n === 2)
        ips.push(Number(f.value & 0xffffffffn)); // an unpacked repeated uint32, also legal proto3
      else if (f.n === 3) subnets.push(Number(f.value & 0xffffffffn));
      else if (f.n === 5) d.notBefore = new Date(Number(BigInt.asIntN(64, f.value)) * 1000);
      else if (f.n === 6) d.notAfter = new Date(Number(BigInt.asIntN(64, f.value)) * 1000);
      else if (f.n === 8) d.isCA = f.value !== 0n;
    }
    d.ips = pairsToCidrs(ips, `${what}: ips`);
    d.subnets = pairsToCidrs(subnets, `${what}: subnets`);
    return { details: d, signature };
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${what}: not a Nebula certificate (${(err as Error).message})`);
  }
}

export const certToPem = (c: NebulaCert): string => toPem(BANNERS.cert, marshalCert(c));
export const certFromPem = (text: string, what = "certificate"): NebulaCert =>
  unmarshalCert(fromPem(BANNERS.cert, text, what), what);
/** Every certificate in a PEM bundle (Nebula's pki.ca may list several CAs). */
export const certsFromPem = (text: string, what = "certificates"): NebulaCert[] =>
  allFromPem(BANNERS.cert, text).map((b, i) => unmarshalCert(b, `${what} #${i + 1}`));

/** Hex SHA-256 of the marshalled certificate, as `nebula-cert print` shows it and as issuers are named. */
export const fingerprint = (c: NebulaCert): string => createHash("sha256").update(marshalCert(c)).digest("hex");

const ed25519Private = (key: Buffer) =>
  createPrivateKey({
    key: {
      kty: "OKP",
      crv: "Ed25519",
      d: key.subarray(0, 32).toString("base64url"),
      x: key.subarray(32, 64).toString("base64url"),
    },
    format: "jwk",
  });
const ed25519Public = (pub: Buffer) =>
  createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: pub.toString("base64url") }, format: "jwk" });

/** Signs details with a CA's 64-byte Ed25519 key (seed, then public key), as Nebula stores it. */
export function signDetails(details: NebulaCertDetails, caKey: Buffer): NebulaCert {
  if (caKey.length !== 64)
    throw new UserError(`a Nebula CA key is 64 bytes (seed and public key), not ${caKey.length}`);
  return { details, signature: sign(null, marshalDetails(details), ed25519Private(caKey)) };
}

/** Whether the signature is the CA key's over the (re-marshalled) details. */
export function checkSignature(c: NebulaCert, caPublicKey: Buffer): boolean {
  try {
    return verify(null, marshalDetails(c.details), ed25519Public(caPublicKey), c.signature);
  } catch {
    return false;
  }
}
