// The CA on disk: encrypted key (0600), import of a nebula-cert CA, the issued register under concurrent writers, the passphrase prompt.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { PassThrough } from "node:stream";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { UserError } from "../../lib/errors.ts";
import { openAuthority } from "../../lib/pki/authority.ts";
import { CaStore } from "../../lib/pki/ca-store.ts";
import { certFromPem, describeCert, describeCertJson, signHostCert, verifyCert } from "../../lib/pki/cert.ts";
import { generateX25519 } from "../../lib/pki/keys.ts";
import { openInventoryCa, readNewPassphrase, readPassphrase } from "../../lib/pki/passphrase.ts";
import { inventoryFrom } from "../context.ts";
import { CHEAP_ARGON2, FIXTURES, run, tempDir } from "./fixtures/pki/helpers.ts";
import { waitFor } from "../helpers/poll.ts";

const PASS = "correct horse battery staple";
const newStore = async (label: string) => {
  const store = new CaStore(join(tempDir(label), "pki"));
  await store.create({
    name: "Store CA",
    passphrase: PASS,
    groups: ["hub", "uplink"],
    ips: ["10.0.4.0/16"],
    duration: "365d",
    argon2: CHEAP_ARGON2,
  });
  return store;
};
const errorOf = async (f: () => unknown): Promise<Error> => {
  try {
    await f();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error");
};

describe("CaStore", () => {
  it("keeps the key only encrypted, mode 0600, in a 0700 directory, and unlocks it with the passphrase", async () => {
    const store = await newStore("store");
    expect(statSync(store.keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(store.certFile).mode & 0o777).toBe(0o600);
    expect(statSync(store.dir).mode & 0o777).toBe(0o700);
    expect(readFileSync(store.keyFile, "utf8")).toMatch(/^-----BEGIN NEBULA ED25519 ENCRYPTED PRIVATE KEY-----\n/);
    const key = await store.unlock(PASS);
    expect(key.subarray(32).equals(store.cert().details.publicKey)).toBe(true);
    expect(readdirSync(store.dir).sort()).toEqual(["ca.crt", "ca.key"]);
  });

  it("refuses to replace a CA, a short passphrase, a wrong one, and a key that belongs to another CA", async () => {
    const store = await newStore("store-refuse");
    await expect(store.create({ name: "again", passphrase: PASS })).rejects.toThrow(
      /a CA already exists in .*; refusing to replace it/,
    );
    await expect(new CaStore(join(tempDir("short"), "pki")).create({ name: "x", passphrase: "short" })).rejects.toThrow(
      /at least 8 characters/,
    );
    const wrong = await errorOf(() => store.unlock("not the passphrase"));
    expect(wrong).toBeInstanceOf(UserError);
    expect(wrong.message).toBe(`wrong passphrase for the CA key ${store.keyFile} (or the file is damaged)`);
    const other = await newStore("store-other");
    writeFileSync(store.keyFile, readFileSync(other.keyFile));
    await expect(store.unlock(PASS)).rejects.toThrow(`${store.keyFile} does not belong to ${store.certFile}`);
    expect(() => new CaStore(tempDir("none")).cert()).toThrow(/no CA in/);
  });

  it("imports a CA made by nebula-cert, storing its key encrypted", async () => {
    const d = tempDir("import");
    run("nebula-cert", ["ca", "-name", "field ca", "-out-crt", join(d, "ca.crt"), "-out-key", join(d, "ca.key")]);
    const store = new CaStore(join(d, "pki"));
    const certPem = readFileSync(join(d, "ca.crt"), "utf8");
    await store.importCa({
      certPem,
      keyPem: readFileSync(join(d, "ca.key"), "utf8"),
      passphrase: PASS,
      argon2: CHEAP_ARGON2,
    });
    expect(readFileSync(store.certFile, "utf8")).toBe(certPem);
    expect(readFileSync(store.keyFile, "utf8")).toMatch(/ENCRYPTED PRIVATE KEY/);
    const cert = signHostCert({
      ca: store.cert(),
      caKey: await store.unlock(PASS),
      name: "n",
      ip: "10.0.4.9/16",
      groups: [],
      publicKey: generateX25519().publicKey,
    });
    expect(verifyCert(cert, store.cert())).toEqual([]);
    const mismatched = new CaStore(join(d, "pki2"));
    await expect(
      mismatched.importCa({
        certPem: readFileSync(join(FIXTURES, "nebula-ca.crt"), "utf8"),
        keyPem: readFileSync(join(d, "ca.key"), "utf8"),
        passphrase: PASS,
      }),
    ).rejects.toThrow(/the key does not belong to the certificate/);
  });
});

describe("the issued register", () => {
  it("records each node once (the newest certificate), with name, ip, groups, fingerprint and dates, and finds those expiring", async () => {
    const store = await newStore("issued");
    const auth = await openAuthority(store, PASS);
    const issue = (name: string, ip: string, days: number) =>
      certFromPem(auth.issue({ name, ip, groups: ["uplink"], subnets: [], days }, auth.generateKeyPair().publicKeyPem));
    await Promise.all([
      store.record(issue("uplink-1", "10.0.4.65/16", 10)),
      store.record(issue("uplink-2", "10.0.4.66/16", 200)),
    ]);
    const renewed = issue("uplink-1", "10.0.4.65/16", 100);
    await store.record(renewed);
    const entries = store.issued();
    expect(entries.map((e) => [e.name, e.ip, e.groups])).toEqual([
      ["uplink-1", "10.0.4.65/16", ["uplink"]],
      ["uplink-2", "10.0.4.66/16", ["uplink"]],
    ]);
    expect(entries[0].fingerprint).toBe(describeCertJson(renewed).fingerprint);
    expect(entries[0].notAfter).toBe(renewed.details.notAfter.toISOString());
    expect(store.certsExpiringWithin(30)).toEqual([]);
    expect(store.certsExpiringWithin(150).map((e) => e.name)).toEqual(["uplink-1"]);
    expect(store.certsExpiringWithin(30, new Date(Date.now() + 365 * 86_400_000)).map((e) => e.name)).toEqual([
      "uplink-1",
      "uplink-2",
    ]);
    expect(statSync(store.issuedFile).mode & 0o777).toBe(0o600);
  });

  it("survives eight processes recording at once: every entry kept, valid JSON, no lock or temp file left", async () => {
    const store = new CaStore(tempDir("concurrent"));
    const worker = join(FIXTURES, "record-worker.ts");
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 8 }, (_, w) =>
        promisify(execFile)(process.execPath, ["--import", "tsx", worker, store.dir, String(w), "5"], {
          cwd: process.cwd(),
        }),
      ),
    );
    const names = store.issued().map((e) => e.name);
    expect(names).toHaveLength(40);
    expect(new Set(names).size).toBe(40);
    expect(readdirSync(store.dir)).toEqual(["issued.json"]);
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 90_000);

  it("a damaged register is a clear error naming the file", () => {
    const store = new CaStore(tempDir("damaged"));
    writeFileSync(store.issuedFile, "{ not json");
    expect(() => store.issued()).toThrow(new RegExp(`${store.issuedFile} is not valid JSON`));
  });
});

// Opened at collection time: the table of cases below is built from its certificate.
const authorityStore = await newStore("authority");
const authority = await openAuthority(authorityStore, PASS);

describe("openAuthority (the nebula role's CA)", () => {
  const store = authorityStore;
  const auth = authority;
  const request = { name: "uplink-1", ip: "10.0.4.65/16", groups: ["uplink"], subnets: ["192.168.1.0/24"], days: 90 };
  const pair = auth.generateKeyPair();
  const certPem = auth.issue(request, pair.publicKeyPem);

  it("issues a certificate that passes nebula-cert and lasts as asked, never beyond the CA", () => {
    writeFileSync(join(store.dir, "..", "host.crt"), certPem);
    expect(() =>
      run("nebula-cert", ["verify", "-ca", store.certFile, "-crt", join(store.dir, "..", "host.crt")]),
    ).not.toThrow();
    const cert = certFromPem(certPem);
    expect(Math.round((cert.details.notAfter.getTime() - Date.now()) / 86_400_000)).toBe(90);
    const long = certFromPem(auth.issue({ ...request, days: 5000 }, pair.publicKeyPem));
    expect(long.details.notAfter.getTime()).toBe(auth.ca.details.notAfter.getTime() - 1000);
  });

  const cases: [string, Partial<typeof request>, string | null, number, RegExp | null][] = [
    ["the same request", {}, pair.publicKeyPem, 30, null],
    ["another name", { name: "uplink-2" }, pair.publicKeyPem, 30, /named uplink-1, not uplink-2/],
    ["another ip", { ip: "10.0.4.66/16" }, pair.publicKeyPem, 30, /carries 10\.0\.4\.65\/16, not 10\.0\.4\.66\/16/],
    ["other groups", { groups: ["uplink", "relay"] }, pair.publicKeyPem, 30, /groups uplink should be uplink,relay/],
    ["other subnets", { subnets: [] }, pair.publicKeyPem, 30, /subnets 192\.168\.1\.0\/24 should be none/],
    ["another key on the node", {}, generateX25519().publicKeyPem, 30, /does not match the node's key/],
    ["no key on the node", {}, null, 30, /does not match the node's key/],
    ["expiring within the renewal window", {}, pair.publicKeyPem, 100, /within 100 days: renewing/],
  ];
  it.each(cases)("problems: %s", (_name, change, nodeKey, renewDays, problem) => {
    const problems = auth.problems(certPem, { ...request, ...change }, nodeKey, renewDays);
    if (problem === null) expect(problems).toEqual([]);
    else expect(problems.join("; ")).toMatch(problem);
  });

  it("opens with a key just created, and refuses a key of another CA", async () => {
    const fresh = new CaStore(join(tempDir("authority-fresh"), "pki"));
    const { key } = await fresh.createAndUnlock({ name: "Fresh CA", passphrase: PASS, argon2: CHEAP_ARGON2 });
    expect((await openAuthority(fresh, key)).ca.details.name).toBe("Fresh CA");
    await expect(openAuthority(store, key)).rejects.toThrow(`the CA key given does not belong to ${store.certFile}`);
  });

  it("problems: an unreadable certificate, or one from another CA", async () => {
    expect(auth.problems("garbage", request, pair.publicKeyPem, 30)).toEqual([
      "the certificate on the node cannot be read",
    ]);
    const other = await openAuthority(await newStore("authority-other"), PASS);
    expect(auth.problems(other.issue(request, pair.publicKeyPem), request, pair.publicKeyPem, 30).join("; ")).toMatch(
      /issued by another CA/,
    );
  });
});

describe("openInventoryCa under --check", () => {
  it("plans with a throwaway CA where one would be created, and writes nothing beside the inventory", async () => {
    const inventory = inventoryFrom("groups:\n  hub:\n    hosts:\n      hub: { address: 198.18.9.10 }\n");
    const lines: string[] = [];
    const ca = await openInventoryCa(inventory, { create: true, check: true, log: (l) => lines.push(l) });
    expect(lines.join("\n")).toMatch(
      /check mode: a new mesh CA would be created in .*\/pki; planning with a throwaway one/,
    );
    expect(existsSync(join(dirname(inventory.file), "pki"))).toBe(false);
    expect(ca.caCertPem).toContain("BEGIN NEBULA CERTIFICATE");
    // Without --init-ca, a missing CA is still a clear error, check mode or not.
    await expect(openInventoryCa(inventory, { check: true })).rejects.toThrow(/no mesh CA in .*pki/);
  });
});

describe("readPassphrase", () => {
  const fakeTerminal = () => {
    const input = Object.assign(new PassThrough(), {
      isTTY: true,
      rawMode: false,
      setRawMode(on: boolean) {
        this.rawMode = on;
        return this;
      },
    });
    const output = new PassThrough();
    let shown = "";
    output.on("data", (c) => (shown += c));
    return { input: input as unknown as NodeJS.ReadStream & { rawMode: boolean }, output, shown: () => shown };
  };

  it("takes MESH_CA_PASSPHRASE first", async () => {
    process.env.MESH_CA_PASSPHRASE = "from-env-123";
    try {
      expect(await readPassphrase("x: ", { input: fakeTerminal().input })).toBe("from-env-123");
    } finally {
      delete process.env.MESH_CA_PASSPHRASE;
    }
  });

  it("prompts on a terminal in raw mode, echoes nothing, handles backspace, and restores the terminal", async () => {
    const term = fakeTerminal();
    const answer = readPassphrase("Passphrase: ", { env: null, input: term.input, output: term.output });
    expect(term.input.rawMode).toBe(true);
    term.input.write("hunter22x\u007f\r");
    expect(await answer).toBe("hunter22");
    expect(term.shown()).toBe("Passphrase: \n");
    expect(term.input.rawMode).toBe(false);
  });

  it("asks twice for a new passphrase and refuses two that differ", async () => {
    const term = fakeTerminal();
    const answer = readNewPassphrase("the test CA", { env: null, input: term.input, output: term.output });
    term.input.write("first-passphrase\r");
    // The second answer is typed once the second prompt is shown (before it, the first read would take it).
    await waitFor("the second prompt", () => term.shown().includes("The same passphrase again: "), {
      timeoutMs: 5000,
      everyMs: 2,
    });
    term.input.write("other-passphrase\r");
    expect((await errorOf(() => answer)).message).toBe("the two passphrases differ; nothing was created");
  });

  it("with no terminal and no variable, says what to set", async () => {
    const input = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.ReadStream;
    const err = await errorOf(() => readPassphrase("x: ", { input }));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/there is no terminal to ask on: set MESH_CA_PASSPHRASE/);
  });
});

describe("secrets stay secret", () => {
  it("no private key, CA key or passphrase in descriptions, JSON, errors or the register", async () => {
    const store = await newStore("secrets");
    const auth = await openAuthority(store, PASS);
    const pair = auth.generateKeyPair();
    const certPem = auth.issue(
      { name: "n", ip: "10.0.4.70/16", groups: ["uplink"], subnets: [], days: 5 },
      pair.publicKeyPem,
    );
    auth.record(certPem);
    await Promise.all(auth.pending);
    const caKey = await store.unlock(PASS);
    const seen = [
      String(pair.privateKeyPem),
      JSON.stringify(pair),
      describeCert(auth.ca),
      describeCert(certFromPem(certPem)),
      JSON.stringify(describeCertJson(auth.ca)),
      readFileSync(store.issuedFile, "utf8"),
      readFileSync(store.certFile, "utf8"),
    ];
    for (const attempt of [
      () => store.unlock("wrong-passphrase"),
      () => store.create({ name: "x", passphrase: PASS }),
      () => signHostCert({ ca: auth.ca, caKey, name: "bad", ip: "1.2.3.4/8", groups: [], publicKey: pair.publicKey }),
    ]) {
      const err = await errorOf(attempt);
      seen.push(String(err), err.stack ?? "", (err as UserError).hint ?? "");
    }
    const hostSecret = pair.privateKeyPem.reveal().split("\n")[1];
    for (const text of seen) {
      expect(text).not.toContain(hostSecret);
      expect(text).not.toContain(PASS);
      expect(text).not.toContain(caKey.subarray(0, 32).toString("hex"));
      expect(text).not.toContain(caKey.subarray(0, 24).toString("base64"));
    }
    expect(existsSync(join(store.dir, "n.key"))).toBe(false);
  });
});
