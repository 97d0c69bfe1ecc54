// Our certificates and keys against the real nebula-cert 1.6.1 and nebula 1.6.1, and theirs against our code.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CaStore } from "../../lib/pki/ca-store.ts";
import {
  certFromPem,
  certToPem,
  createCA,
  describeCert,
  describeCertJson,
  fingerprint,
  signHostCert,
  verifyCert,
  type NebulaCert,
} from "../../lib/pki/cert.ts";
import { ed25519KeyFromPem, ed25519KeyToPem, generateX25519, x25519PublicKeyOf } from "../../lib/pki/keys.ts";
import { CHEAP_ARGON2, run, runFailing, tempDir } from "./fixtures/pki/helpers.ts";

let dir: string;
let ca: NebulaCert;
let caKey: Buffer;
const write = (name: string, content: string, mode = 0o644) => {
  writeFileSync(join(dir, name), content, { mode });
  return join(dir, name);
};

beforeAll(() => {
  dir = tempDir("pki-interop");
  ({ cert: ca, key: caKey } = createCA({
    name: "Interop Mesh CA",
    groups: ["hub", "uplink", "relay"],
    ips: ["10.0.4.0/16"],
    subnets: ["192.168.0.0/16"],
    duration: "365d",
  }));
  write("ca.crt", certToPem(ca));
});

const host = (name: string, extra: Partial<Parameters<typeof signHostCert>[0]> = {}) => {
  const pair = generateX25519();
  const cert = signHostCert({
    ca,
    caKey,
    name,
    ip: "10.0.4.65/16",
    groups: ["uplink"],
    subnets: ["192.168.65.0/24"],
    duration: "30d",
    publicKey: pair.publicKey,
    ...extra,
  });
  return { pair, cert, certFile: write(`${name}.crt`, certToPem(cert)) };
};

describe("our certificates in nebula-cert 1.6.1", () => {
  it("a host certificate of ours passes `nebula-cert verify` against our CA", () => {
    const { certFile } = host("uplink-1");
    expect(() => run("nebula-cert", ["verify", "-ca", join(dir, "ca.crt"), "-crt", certFile])).not.toThrow();
  });

  it("`nebula-cert print` shows our fields, exactly as describeCert and describeCertJson do", () => {
    const { cert, certFile } = host("uplink-2", { groups: ["uplink", "relay"], ip: "10.0.4.66/16" });
    const json = JSON.parse(run("nebula-cert", ["print", "-json", "-path", certFile]));
    expect(json.details).toMatchObject({
      name: "uplink-2",
      ips: ["10.0.4.66/16"],
      subnets: ["192.168.65.0/24"],
      groups: ["uplink", "relay"],
      isCa: false,
      issuer: fingerprint(ca),
    });
    expect(json).toEqual(describeCertJson(cert));
    expect(run("nebula-cert", ["print", "-path", certFile]).trimEnd()).toBe(describeCert(cert));
    expect(run("nebula-cert", ["print", "-path", join(dir, "ca.crt")]).trimEnd()).toBe(describeCert(ca));
  });

  it("`nebula-cert verify` refuses our certificate under another CA, and a tampered one under ours", () => {
    const other = createCA({ name: "Other CA", duration: "30d" });
    const otherCa = write("other-ca.crt", certToPem(other.cert));
    const { cert, certFile } = host("uplink-3");
    expect(runFailing("nebula-cert", ["verify", "-ca", otherCa, "-crt", certFile])).toMatch(
      /could not find ca for the certificate/,
    );
    const tampered = write("tampered.crt", certToPem({ ...cert, details: { ...cert.details, groups: ["hub"] } }));
    expect(runFailing("nebula-cert", ["verify", "-ca", join(dir, "ca.crt"), "-crt", tampered])).toMatch(
      /signature did not match/,
    );
  });

  it("nebula-cert signs with our CA key (decrypted from the store, exported for this test only) and we verify the result", async () => {
    const store = new CaStore(join(dir, "store"));
    await store.create({
      name: "Stored CA",
      passphrase: "long enough passphrase",
      groups: ["uplink"],
      ips: ["10.0.4.0/16"],
      argon2: CHEAP_ARGON2,
    });
    const keyFile = write(
      "plain-ca.key",
      ed25519KeyToPem(await store.unlock("long enough passphrase")).reveal(),
      0o600,
    );
    run("nebula-cert", [
      "sign",
      "-ca-crt",
      store.certFile,
      "-ca-key",
      keyFile,
      "-name",
      "n9",
      "-ip",
      "10.0.4.99/16",
      "-groups",
      "uplink",
      "-out-crt",
      join(dir, "n9.crt"),
      "-out-key",
      join(dir, "n9.key"),
    ]);
    const theirs = certFromPem(readFileSync(join(dir, "n9.crt"), "utf8"));
    expect(verifyCert(theirs, store.cert())).toEqual([]);
    expect(x25519PublicKeyOf(readFileSync(join(dir, "n9.key"), "utf8")).equals(theirs.details.publicKey)).toBe(true);
  });
});

describe("nebula-cert's certificates in our code", () => {
  it("reads and verifies them, and refuses them under a CA that did not sign them", () => {
    const d = tempDir("pki-nc");
    run("nebula-cert", [
      "ca",
      "-name",
      "their ca",
      "-groups",
      "uplink",
      "-ips",
      "10.0.4.0/16",
      "-out-crt",
      join(d, "ca.crt"),
      "-out-key",
      join(d, "ca.key"),
    ]);
    run("nebula-cert", [
      "sign",
      "-ca-crt",
      join(d, "ca.crt"),
      "-ca-key",
      join(d, "ca.key"),
      "-name",
      "n1",
      "-ip",
      "10.0.4.70/16",
      "-groups",
      "uplink",
      "-subnets",
      "192.168.70.0/24",
      "-out-crt",
      join(d, "n1.crt"),
      "-out-key",
      join(d, "n1.key"),
    ]);
    const theirCa = certFromPem(readFileSync(join(d, "ca.crt"), "utf8"));
    const theirs = certFromPem(readFileSync(join(d, "n1.crt"), "utf8"));
    expect(verifyCert(theirs, theirCa)).toEqual([]);
    expect(theirs.details).toMatchObject({
      name: "n1",
      ips: ["10.0.4.70/16"],
      subnets: ["192.168.70.0/24"],
      groups: ["uplink"],
    });
    expect(certToPem(theirs)).toBe(readFileSync(join(d, "n1.crt"), "utf8"));
    expect(verifyCert(theirs, ca).join("; ")).toMatch(/issued by another CA/);
    // Their CA key is a valid Nebula CA key to us, and signs certificates nebula-cert accepts.
    const theirKey = ed25519KeyFromPem(readFileSync(join(d, "ca.key"), "utf8"));
    const ours = signHostCert({
      ca: theirCa,
      caKey: theirKey,
      name: "n2",
      ip: "10.0.4.71/16",
      groups: ["uplink"],
      publicKey: generateX25519().publicKey,
    });
    writeFileSync(join(d, "n2.crt"), certToPem(ours));
    expect(() => run("nebula-cert", ["verify", "-ca", join(d, "ca.crt"), "-crt", join(d, "n2.crt")])).not.toThrow();
  });
});

describe("nebula 1.6.1 itself", () => {
  const config = (crt: string, key: string) =>
    write(
      "nebula.yml",
      [
        `pki: { ca: ${join(dir, "ca.crt")}, cert: ${crt}, key: ${key} }`,
        "static_host_map: {}",
        "lighthouse: { am_lighthouse: true }",
        "listen: { host: 127.0.0.1, port: 4242 }",
        "tun: { dev: nebtest0 }",
        "firewall: { outbound: [{port: any, proto: any, host: any}], inbound: [{port: any, proto: icmp, host: any}] }",
        "",
      ].join("\n"),
    );

  it("`nebula -test` accepts a config with our certificate and our host key", () => {
    const { pair, certFile } = host("uplink-4");
    const keyFile = write("uplink-4.key", pair.privateKeyPem.reveal(), 0o600);
    expect(() => run("nebula", ["-test", "-config", config(certFile, keyFile)])).not.toThrow();
  });

  it("`nebula -test` refuses our certificate with a key that is not its pair", () => {
    const { certFile } = host("uplink-5");
    const keyFile = write("stranger.key", generateX25519().privateKeyPem.reveal(), 0o600);
    expect(runFailing("nebula", ["-test", "-config", config(certFile, keyFile)])).toMatch(
      /private key is not a pair with public key in nebula cert/,
    );
  });
});
