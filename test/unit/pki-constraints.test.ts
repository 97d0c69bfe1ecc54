// What a CA allows: verifyCert lists every reason a certificate is not valid, signHostCert refuses to sign those.
import { describe, expect, it } from "vitest";
import { UserError } from "../../lib/errors.ts";
import {
  certFromPem,
  certToPem,
  createCA,
  fingerprint,
  signDetails,
  signHostCert,
  verifyCert,
  type NebulaCert,
  type NebulaCertDetails,
} from "../../lib/pki/cert.ts";
import { generateEd25519, generateX25519 } from "../../lib/pki/keys.ts";

const DAY = 86_400_000;
const now = new Date("2027-03-01T12:00:00Z");
const later = (days: number) => new Date(now.getTime() + days * DAY);
const { cert: ca, key: caKey } = createCA({
  name: "Constraint CA",
  ips: ["10.0.4.0/16"],
  subnets: ["192.168.0.0/16"],
  groups: ["uplink", "hub"],
  duration: "100d",
  now,
});
const hostDetails = (): NebulaCertDetails => ({
  name: "n",
  ips: ["10.0.4.65/16"],
  subnets: [],
  groups: ["uplink"],
  notBefore: now,
  notAfter: later(10),
  publicKey: generateX25519().publicKey,
  isCA: false,
  issuer: fingerprint(ca),
});

describe("verifyCert", () => {
  const cases: {
    name: string;
    change?: (d: NebulaCertDetails) => void;
    at?: Date;
    ca?: NebulaCert;
    key?: Buffer;
    problem: RegExp | null;
  }[] = [
    { name: "valid", problem: null },
    {
      name: "valid with a subnet inside the CA's",
      change: (d) => void (d.subnets = ["192.168.5.0/24"]),
      problem: null,
    },
    {
      name: "group not in the CA",
      change: (d) => void (d.groups = ["uplink", "admin"]),
      problem: /group "admin" is not allowed by the CA \(it allows uplink, hub\)/,
    },
    {
      name: "ip outside the CA's ips",
      change: (d) => void (d.ips = ["10.1.0.5/16"]),
      problem: /ip 10\.1\.0\.5\/16 is outside the CA's networks 10\.0\.4\.0\/16/,
    },
    {
      name: "ip with a wider mask than the CA's",
      change: (d) => void (d.ips = ["10.0.4.65/8"]),
      problem: /ip 10\.0\.4\.65\/8 is outside/,
    },
    {
      name: "subnet outside the CA's subnets",
      change: (d) => void (d.subnets = ["172.16.0.0/24"]),
      problem: /subnet 172\.16\.0\.0\/24 is outside the CA's subnets/,
    },
    { name: "expires after the CA", change: (d) => void (d.notAfter = later(200)), problem: /outlives its CA/ },
    { name: "starts before the CA", change: (d) => void (d.notBefore = later(-1)), problem: /starts before its CA/ },
    {
      name: "expired",
      change: (d) => void (d.notAfter = later(1)),
      at: later(2),
      problem: /expired on 2027-03-02T12:00:00Z/,
    },
    {
      name: "not yet valid",
      change: (d) => void (d.notBefore = later(1)),
      at: later(0.5),
      problem: /not valid before 2027-03-02T12:00:00Z/,
    },
    {
      name: "issuer names another CA",
      change: (d) => void (d.issuer = "00".repeat(32)),
      problem: /issued by another CA/,
    },
    {
      name: "right issuer, signed by a foreign key",
      key: generateEd25519().privateKey,
      problem: /signature does not match the CA/,
    },
    {
      name: "the CA has expired",
      at: later(101),
      change: (d) => void (d.notAfter = later(100)),
      problem: /the CA "Constraint CA" expired on/,
    },
  ];
  it.each(cases)("$name", ({ change, at, key, problem }) => {
    const d = hostDetails();
    change?.(d);
    const problems = verifyCert(signDetails(d, key ?? caKey), ca, at ?? later(0.001));
    if (problem === null) expect(problems).toEqual([]);
    else expect(problems.join("; ")).toMatch(problem);
  });

  it("a certificate changed after signing fails its signature (the CA's signature covers the re-marshalled details)", () => {
    const cert = signDetails(hostDetails(), caKey);
    const tampered = certFromPem(certToPem({ ...cert, details: { ...cert.details, groups: ["hub"] } }));
    expect(verifyCert(tampered, ca, later(0.001))).toEqual(["signature does not match the CA"]);
    const flipped = Buffer.from(cert.signature);
    flipped[5] ^= 1;
    expect(verifyCert({ ...cert, signature: flipped }, ca, later(0.001))).toEqual(["signature does not match the CA"]);
  });

  it("an issuer that is not a CA, or a CA that is not self-signed, is named", () => {
    const notCa = signDetails({ ...ca.details, isCA: false }, caKey);
    const cert = signDetails({ ...hostDetails(), issuer: fingerprint(notCa) }, caKey);
    expect(verifyCert(cert, notCa, later(0.001)).join("; ")).toMatch(
      /the issuer certificate "Constraint CA" is not a CA/,
    );
    const forged = signDetails({ ...ca.details }, generateEd25519().privateKey);
    expect(
      verifyCert(signDetails({ ...hostDetails(), issuer: fingerprint(forged) }, caKey), forged, later(0.001)).join(
        "; ",
      ),
    ).toMatch(/is not self-signed/);
  });

  it("lists every problem at once", () => {
    const d = { ...hostDetails(), groups: ["admin"], ips: ["10.9.0.1/16"], notAfter: later(300) };
    expect(verifyCert(signDetails(d, caKey), ca, later(0.001))).toHaveLength(3);
  });
});

describe("signHostCert", () => {
  const base = {
    ca,
    caKey,
    name: "uplink-1",
    ip: "10.0.4.65/16",
    groups: ["uplink"],
    publicKey: generateX25519().publicKey,
    now: later(1),
  };

  it("signs within the CA: starts a minute early for clocks that lag, ends when asked or a second before the CA", () => {
    const cert = signHostCert({ ...base, duration: "30d", subnets: ["192.168.1.0/24"] });
    expect(verifyCert(cert, ca, later(1))).toEqual([]);
    expect(cert.details.notBefore.getTime()).toBe(later(1).getTime() - 60_000);
    expect(cert.details.notAfter.getTime()).toBe(later(31).getTime());
    expect(cert.details).toMatchObject({
      name: "uplink-1",
      ips: ["10.0.4.65/16"],
      subnets: ["192.168.1.0/24"],
      groups: ["uplink"],
      isCA: false,
      issuer: fingerprint(ca),
    });
    expect(signHostCert(base).details.notAfter.getTime()).toBe(ca.details.notAfter.getTime() - 1000);
    expect(signHostCert({ ...base, now: now }).details.notBefore).toEqual(ca.details.notBefore);
  });

  it("takes the public key as PEM too", () => {
    const pair = generateX25519();
    expect(signHostCert({ ...base, publicKey: pair.publicKeyPem }).details.publicKey.equals(pair.publicKey)).toBe(true);
  });

  const refusals: [string, Partial<typeof base> & { duration?: string; subnets?: string[] }, RegExp][] = [
    [
      "a group the CA does not allow",
      { groups: ["admin"] },
      /refusing to sign the certificate for "uplink-1": group "admin" is not allowed/,
    ],
    ["an ip outside the CA", { ip: "10.5.0.1/16" }, /ip 10\.5\.0\.1\/16 is outside the CA's networks/],
    ["a subnet outside the CA", { subnets: ["10.99.0.0/24"] }, /subnet 10\.99\.0\.0\/24 is outside/],
    ["a lifetime beyond the CA's", { duration: "1y" }, /outlives its CA/],
    ["the wrong CA key", { caKey: generateEd25519().privateKey }, /signature does not match the CA/],
    ["an address that is not a CIDR", { ip: "10.0.4.65" }, /ip "10\.0\.4\.65" is not an IPv4 CIDR/],
    ["a group with a comma", { groups: ["a,b"] }, /group "a,b" must be a non-empty word/],
    ["a short public key", { publicKey: Buffer.alloc(16) }, /public key must be 32 bytes/],
    ["no name", { name: " " }, /needs a name/],
  ];
  it.each(refusals)("refuses %s", (_name, change, message) => {
    expect(() => signHostCert({ ...base, ...change } as Parameters<typeof signHostCert>[0])).toThrow(UserError);
    expect(() => signHostCert({ ...base, ...change } as Parameters<typeof signHostCert>[0])).toThrow(message);
  });
});

describe("createCA", () => {
  it("makes a self-signed CA that verifies its own certificates", () => {
    const made = createCA({ name: "New CA", groups: ["uplink"], duration: "2d", now });
    expect(made.key).toHaveLength(64);
    expect(made.cert.details).toMatchObject({
      name: "New CA",
      isCA: true,
      issuer: "",
      groups: ["uplink"],
      notBefore: now,
      notAfter: later(2),
    });
    expect(made.key.subarray(32).equals(made.cert.details.publicKey)).toBe(true);
  });
  it.each([
    [{ name: "", duration: "1d" }, /needs a name/],
    [{ name: "x", duration: "forever" }, /CA duration "forever" is not a duration/],
    [{ name: "x", duration: "1d", ips: ["10.0.4.0"] }, /CA ip "10\.0\.4\.0" is not an IPv4 CIDR/],
  ])("refuses %o", (options, message) => {
    expect(() => createCA(options)).toThrow(message);
  });
});
