// Nebula certificates made here pass the real nebula-cert, nebula-cert's are read here, and the CA's constraints hold.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CaStore } from "../../lib/pki/ca-store.ts";
import { openAuthority } from "../../lib/pki/authority.ts";
import { certFromPem, certToPem, describeCert, fingerprint, signDetails, verifyCert, type CertDetails } from "../../lib/pki/cert.ts";
import { generateEd25519, generateX25519 } from "../../lib/pki/keys.ts";
import { encryptPrivateKey, decryptPrivateKey } from "../../lib/pki/encrypted-key.ts";

const PASS = "correct horse battery staple";
const DAY = 86_400_000;
let dir: string;
let store: CaStore;
let auth: ReturnType<typeof openAuthority>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "meshisp-pki-"));
  store = new CaStore(join(dir, "ca"));
  store.create({ name: "Test Mesh CA", passphrase: PASS, groups: ["hub", "lighthouse", "relay", "uplink", "client"], ips: ["10.0.4.0/16"] });
  auth = openAuthority(store, PASS);
});

const request = { name: "uplink-1", ip: "10.0.4.65/16", groups: ["uplink"], subnets: [], days: 365 };

describe("interop with nebula-cert 1.6.1", () => {
  it("our CA and host cert pass nebula-cert verify and print with our fields", () => {
    const pair = auth.generateKeyPair();
    const pem = auth.issue(request, pair.publicKeyPem);
    writeFileSync(join(dir, "host.crt"), pem);
    execFileSync("nebula-cert", ["verify", "-ca", store.certFile, "-crt", join(dir, "host.crt")]);
    const printed = execFileSync("nebula-cert", ["print", "-json", "-path", join(dir, "host.crt")]).toString();
    const json = JSON.parse(printed);
    expect(json.details.name).toBe("uplink-1");
    expect(json.details.ips).toEqual(["10.0.4.65/16"]);
    expect(json.details.groups).toEqual(["uplink"]);
    expect(json.details.issuer).toBe(JSON.parse(execFileSync("nebula-cert", ["print", "-json", "-path", store.certFile]).toString()).fingerprint);
  });

  it("nebula -test accepts a config with our cert and key", () => {
    const pair = auth.generateKeyPair();
    writeFileSync(join(dir, "n.crt"), auth.issue(request, pair.publicKeyPem));
    writeFileSync(join(dir, "n.key"), pair.privateKeyPem.reveal(), { mode: 0o600 });
    writeFileSync(
      join(dir, "n.yml"),
      `pki: { ca: ${store.certFile}, cert: ${join(dir, "n.crt")}, key: ${join(dir, "n.key")} }\nlighthouse: { am_lighthouse: true }\nlisten: { host: 0.0.0.0, port: 4242 }\ntun: { dev: nebtest0 }\nfirewall: { outbound: [{port: any, proto: any, host: any}], inbound: [] }\n`,
    );
    execFileSync("nebula", ["-test", "-config", join(dir, "n.yml")]);
  });

  it("reads and verifies certificates made by nebula-cert, and rejects them under a foreign CA", () => {
    const d = mkdtempSync(join(tmpdir(), "meshisp-nc-"));
    execFileSync("nebula-cert", ["ca", "-name", "their ca", "-groups", "uplink", "-out-crt", join(d, "ca.crt"), "-out-key", join(d, "ca.key")]);
    execFileSync("nebula-cert", ["sign", "-ca-crt", join(d, "ca.crt"), "-ca-key", join(d, "ca.key"), "-name", "n1", "-ip", "10.0.4.70/16", "-groups", "uplink", "-out-crt", join(d, "n1.crt"), "-out-key", join(d, "n1.key")]);
    const theirCa = certFromPem(readFileSync(join(d, "ca.crt"), "utf8"));
    const theirs = certFromPem(readFileSync(join(d, "n1.crt"), "utf8"));
    expect(verifyCert(theirs, theirCa)).toEqual([]);
    expect(theirs.details.name).toBe("n1");
    expect(certToPem(theirs)).toBe(readFileSync(join(d, "n1.crt"), "utf8"));
    expect(verifyCert(theirs, auth.ca).join()).toMatch(/issued by another CA/);
    // and a cert of ours is refused by nebula-cert under their CA
    writeFileSync(join(d, "ours.crt"), auth.issue(request, auth.generateKeyPair().publicKeyPem));
    expect(() => execFileSync("nebula-cert", ["verify", "-ca", join(d, "ca.crt"), "-crt", join(d, "ours.crt")], { stdio: "pipe" })).toThrow();
  });
});

describe("CA constraints", () => {
  const { privateKey: caKey, publicKey } = generateEd25519();
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const ca = signDetails(
    { name: "c", ips: ["10.0.4.0/16"], subnets: ["192.168.0.0/16"], groups: ["uplink", "hub"], notBefore: now, notAfter: new Date(now.getTime() + 100 * DAY), publicKey, isCA: true, issuer: "" },
    caKey,
  );
  const fp = certFromPem(certToPem(ca));
  const base = (): CertDetails => ({
    name: "n",
    ips: ["10.0.4.65/16"],
    subnets: [],
    groups: ["uplink"],
    notBefore: now,
    notAfter: new Date(now.getTime() + 10 * DAY),
    publicKey: generateX25519().publicKey,
    isCA: false,
    issuer: fingerprint(fp),
  });
  const cases: { name: string; change: (d: CertDetails) => void; problem: RegExp | null; at?: Date }[] = [
    { name: "valid", change: (_d: CertDetails) => undefined, problem: null },
    { name: "group not in the CA", change: (d: CertDetails) => void (d.groups = ["admin"]), problem: /group "admin" is not allowed/ },
    { name: "ip outside the CA", change: (d: CertDetails) => void (d.ips = ["10.1.0.5/16"]), problem: /outside the CA's networks/ },
    { name: "wider network than the CA", change: (d: CertDetails) => void (d.ips = ["10.0.4.65/8"]), problem: /outside the CA's networks/ },
    { name: "subnet outside the CA", change: (d: CertDetails) => void (d.subnets = ["172.16.0.0/24"]), problem: /subnet .* outside/ },
    { name: "subnet inside the CA", change: (d: CertDetails) => void (d.subnets = ["192.168.5.0/24"]), problem: null },
    { name: "outlives the CA", change: (d: CertDetails) => void (d.notAfter = new Date(now.getTime() + 200 * DAY)), problem: /outlives its CA/ },
    { name: "starts before the CA", change: (d: CertDetails) => void (d.notBefore = new Date(now.getTime() - DAY)), problem: /starts before its CA/ },
    { name: "expired", change: (d: CertDetails) => void (d.notAfter = new Date(now.getTime() + 1000)), at: new Date(now.getTime() + 2 * DAY), problem: /expired/ },
    { name: "not yet valid", change: (d: CertDetails) => void (d.notBefore = new Date(now.getTime() + DAY)), problem: /not valid before/ },
    { name: "foreign issuer", change: (d: CertDetails) => void (d.issuer = "00".repeat(32)), problem: /issued by another CA/ },
  ];
  it.each(cases)("$name", ({ change, problem: wanted, at }) => {
    const d = base();
    change(d);
    const problems = verifyCert(signDetails(d, caKey), fp, at ?? new Date(now.getTime() + 1000));
    if (wanted === null) expect(problems).toEqual([]);
    else expect(problems.join("; ")).toMatch(wanted);
  });

  it("a tampered certificate fails its signature", () => {
    const cert = signDetails(base(), caKey);
    cert.details.name = "someone-else";
    expect(verifyCert(cert, fp, new Date(now.getTime() + 1000)).join()).toMatch(/signature does not match/);
  });
});

describe("the CA key at rest", () => {
  it("is encrypted, round-trips with the passphrase, and a wrong one is a clear error", () => {
    const text = readFileSync(store.keyFile, "utf8");
    expect(text).toMatch(/^-----BEGIN NEBULA ED25519 ENCRYPTED PRIVATE KEY-----/);
    expect(store.unlock(PASS)).toHaveLength(64);
    expect(() => store.unlock("not the passphrase")).toThrow(/wrong passphrase for the CA key/);
    const key = generateEd25519().privateKey;
    expect(decryptPrivateKey(encryptPrivateKey(key, "pw-123456", { memoryKiB: 64, iterations: 1, parallelism: 1 }), "pw-123456", "x").equals(key)).toBe(true);
  });

  it("never shows key material or the passphrase", () => {
    const pair = auth.generateKeyPair();
    const seen = [String(pair.privateKeyPem), JSON.stringify(pair), describeCert(auth.ca)];
    try {
      store.unlock("wrong");
    } catch (e) {
      seen.push(String(e), (e as Error).stack ?? "");
    }
    const secret = pair.privateKeyPem.reveal().split("\n")[1];
    for (const s of seen) {
      expect(s).not.toContain(secret);
      expect(s).not.toContain(PASS);
      expect(s).not.toContain(store.unlock(PASS).toString("base64").slice(0, 20));
    }
  });

  it("records issued certificates and finds those expiring soon", async () => {
    const pem = auth.issue({ ...request, days: 10 }, auth.generateKeyPair().publicKeyPem);
    await Promise.all([store.record(certFromPem(pem)), store.record(certFromPem(auth.issue({ ...request, name: "uplink-2", ip: "10.0.4.66/16" }, auth.generateKeyPair().publicKeyPem)))]);
    expect(store.issued().map((e) => e.name)).toEqual(["uplink-1", "uplink-2"]);
    expect(store.certsExpiringWithin(30).map((e) => e.name)).toEqual(["uplink-1"]);
  });
});
