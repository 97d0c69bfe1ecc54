// The v1 wire format, byte for byte: certificates made by nebula-cert 1.6.1 round-trip, fingerprint and print exactly as it does.
import { describe, expect, it } from "vitest";
import { UserError } from "../../lib/errors.ts";
import {
  certFromPem,
  certToPem,
  certsFromPem,
  describeCert,
  describeCertJson,
  fingerprint,
  marshalCert,
  unmarshalCert,
  verifyCert,
} from "../../lib/pki/cert.ts";
import { durationMs } from "../../lib/pki/duration.ts";
import { toPem } from "../../lib/pki/pem.ts";
import { readFields, unpackUint32, Writer } from "../../lib/pki/protobuf.ts";
import { fixture } from "./fixtures/pki/helpers.ts";

const INSIDE_VALIDITY = new Date("2027-06-01T00:00:00Z");
const certs = ["nebula-ca", "nebula-host"] as const;

describe("certificates made by nebula-cert 1.6.1 (fixtures)", () => {
  it.each(certs)("%s re-marshals byte for byte", (name) => {
    const pem = fixture(`${name}.crt`);
    expect(certToPem(certFromPem(pem))).toBe(pem);
  });

  it.each(certs)("%s has the fingerprint nebula-cert printed", (name) => {
    expect(fingerprint(certFromPem(fixture(`${name}.crt`)))).toBe(
      JSON.parse(fixture(`${name}.print.json`)).fingerprint,
    );
  });

  it.each(certs)("%s is described exactly as `nebula-cert print` and `print -json` do", (name) => {
    const cert = certFromPem(fixture(`${name}.crt`));
    expect(describeCert(cert)).toBe(fixture(`${name}.print.txt`).trimEnd());
    expect(describeCertJson(cert)).toEqual(JSON.parse(fixture(`${name}.print.json`)));
  });

  it("reads every field of the host certificate", () => {
    const host = certFromPem(fixture("nebula-host.crt"));
    const ca = certFromPem(fixture("nebula-ca.crt"));
    expect(host.details).toMatchObject({
      name: "uplink-7",
      ips: ["10.0.4.71/16"],
      subnets: ["192.168.7.0/24"],
      groups: ["uplink", "relay"],
      isCA: false,
      issuer: fingerprint(ca),
    });
    expect(ca.details).toMatchObject({
      name: "Fixture Mesh CA",
      ips: ["10.0.4.0/16"],
      subnets: ["192.168.0.0/16"],
      groups: ["hub", "uplink", "relay"],
      isCA: true,
      issuer: "",
    });
    expect(verifyCert(host, ca, INSIDE_VALIDITY)).toEqual([]);
    expect(certsFromPem(fixture("nebula-ca.crt") + fixture("nebula-host.crt")).map((c) => c.details.name)).toEqual([
      "Fixture Mesh CA",
      "uplink-7",
    ]);
  });
});

describe("protobuf", () => {
  it("leaves defaults out, packs uint32 lists, writes negative int64 in ten bytes", () => {
    expect(new Writer().varint(1, 0).bytes(2, "").packedUint32(3, []).finish()).toHaveLength(0);
    expect(new Writer().packedUint32(2, [1, 300]).finish().toString("hex")).toBe("120301ac02");
    const negative = new Writer().varint(5, -1n).finish();
    expect(negative).toHaveLength(11);
    expect(BigInt.asIntN(64, (readFields(negative)[0] as { value: bigint }).value)).toBe(-1n);
    expect(unpackUint32(Buffer.from("ffffffff0f", "hex"))).toEqual([0xffffffff]);
  });
});

describe("damaged input is a clear error naming the file", () => {
  const host = certFromPem(fixture("nebula-host.crt"));
  const details = readFields(marshalCert(host)).find((f) => f.n === 1)!.value as Buffer;
  const withDetails = (extra: Buffer) =>
    toPem("NEBULA CERTIFICATE", new Writer().bytes(1, Buffer.concat([details, extra])).finish());
  const cases: [string, string, RegExp][] = [
    [
      "a key instead of a certificate",
      fixture("nebula-test-encrypted.key"),
      /host\.crt is not a PEM block "NEBULA CERTIFICATE" \(it holds "NEBULA ED25519 ENCRYPTED PRIVATE KEY"\)/,
    ],
    [
      "truncated bytes",
      toPem("NEBULA CERTIFICATE", marshalCert(host).subarray(0, 40)),
      /host\.crt: not a Nebula certificate/,
    ],
    [
      "no details",
      toPem("NEBULA CERTIFICATE", new Writer().bytes(2, Buffer.alloc(64, 1)).finish()),
      /host\.crt: the certificate has no details/,
    ],
    [
      "an address without its mask",
      withDetails(new Writer().packedUint32(2, [1]).finish()),
      /host\.crt: ips: addresses should come in \(address, mask\) pairs/,
    ],
    [
      "a mask that is not a prefix",
      withDetails(new Writer().packedUint32(3, [0x0a000000, 0xff00ff00]).finish()),
      /subnets: mask 255\.0\.255\.0 is not a prefix length/,
    ],
  ];
  it.each(cases)("%s", (_name, pem, message) => {
    expect(() => certFromPem(pem, "host.crt")).toThrow(UserError);
    expect(() => certFromPem(pem, "host.crt")).toThrow(message);
  });

  it("refuses to marshal an address that is not a CIDR", () => {
    expect(() => marshalCert({ ...host, details: { ...host.details, ips: ["10.0.4.300/16"] } })).toThrow(
      /ip "10\.0\.4\.300\/16" is not an IPv4 CIDR/,
    );
  });

  it("unmarshalCert keeps unknown bytes out of the result and still re-marshals canonically", () => {
    expect(marshalCert(unmarshalCert(marshalCert(host)))).toEqual(marshalCert(host));
  });
});

describe("durations", () => {
  const cases: [string | number, number | RegExp][] = [
    ["365d", 365 * 86_400_000],
    ["8760h", 8760 * 3_600_000],
    ["1y", 365 * 86_400_000],
    ["30d12h", 30.5 * 86_400_000],
    [90_000, 90_000],
    ["0d", /longer than zero/],
    ["a year", /not a duration like 365d/],
    ["10", /not a duration/],
    [-5, /positive number/],
  ];
  it.each(cases)("%s", (input, expected) => {
    if (typeof expected === "number") expect(durationMs(input)).toBe(expected);
    else expect(() => durationMs(input)).toThrow(expected);
  });
});
