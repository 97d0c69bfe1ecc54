// The CA is unlocked once per run (issue 10): one passphrase prompt for the CA key and the hub's service secrets, one
// Argon2 derivation per sealed file, and the derivation leaves the event loop free (SSH keepalives of running sessions).
import { PassThrough } from "node:stream";
import { argon2id } from "@noble/hashes/argon2";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { argon2idOffThread } from "../../lib/pki/argon2.ts";
import { caStoreFor, openInventoryCa, RunPassphrase } from "../../lib/pki/passphrase.ts";
import { openSecretsFile, openServiceSecrets, serviceSecretsFile } from "../../lib/secrets/service-secrets.ts";
import { inventoryFrom } from "../context.ts";
import { CHEAP_ARGON2 } from "./fixtures/pki/helpers.ts";

// Counts the derivations (and still runs them): the module is wrapped, not replaced.
const derivations = vi.hoisted(() => ({ count: 0 }));
vi.mock("../../lib/pki/argon2.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../lib/pki/argon2.ts")>();
  return {
    argon2idOffThread: (input: Parameters<typeof real.argon2idOffThread>[0]) => (
      derivations.count++,
      real.argon2idOffThread(input)
    ),
  };
});

const PASS = "the one passphrase of this run";
const fakeTerminal = () => {
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
  const output = new PassThrough();
  let shown = "";
  output.on("data", (c) => (shown += c));
  return { input: input as unknown as NodeJS.ReadStream, output, shown: () => shown };
};

/** Types `text` once the prompt is on the terminal (polled with a deadline, no fixed sleep). */
async function typeWhenAsked(term: ReturnType<typeof fakeTerminal>, text: string) {
  const deadline = Date.now() + 5000;
  while (!term.shown().includes(": ")) {
    if (Date.now() > deadline) throw new Error("no prompt within 5 s");
    await new Promise((r) => setTimeout(r, 5));
  }
  term.input.write(text);
}

describe("one CA unlock per run", () => {
  beforeEach(() => {
    delete process.env.MESH_CA_PASSPHRASE;
  });

  it("deploy-hub's order (CA, then the service secrets) asks once and derives once per file", async () => {
    const inventory = inventoryFrom("groups:\n  hub:\n    hosts:\n      hub: { address: 198.18.9.10 }\n");
    await caStoreFor(inventory).create({ name: "Once CA", passphrase: PASS, argon2: CHEAP_ARGON2 });
    const sealed = await openSecretsFile(serviceSecretsFile(inventory), PASS, CHEAP_ARGON2);
    derivations.count = 0;

    const term = fakeTerminal();
    const passphrase = new RunPassphrase({ env: null, input: term.input, output: term.output });
    const [ca] = await Promise.all([openInventoryCa(inventory, { passphrase }), typeWhenAsked(term, `${PASS}\r`)]);
    const secrets = await openServiceSecrets(inventory, { passphrase });

    expect(ca.ca.details.name).toBe("Once CA");
    expect(secrets.get("postgres_password").reveal()).toBe(sealed.get("postgres_password").reveal());
    expect(term.shown().match(/Passphrase of the mesh CA/g)).toHaveLength(1);
    expect(term.shown()).not.toContain(PASS);
    expect(derivations.count).toBe(2); // ca.key and services.key, once each
    const kept = await passphrase.get("never shown: ");
    expect([String(kept), JSON.stringify({ kept })]).toEqual(["***", '{"kept":"***"}']);
  });

  it("a passphrase just chosen for a new CA is the run's: nothing more is asked", async () => {
    const term = fakeTerminal();
    const passphrase = new RunPassphrase({ env: null, input: term.input, output: term.output });
    passphrase.chosen(PASS);
    expect((await passphrase.get("x: ")).reveal()).toBe(PASS);
    expect(term.shown()).toBe("");
  });

  it("MESH_CA_PASSPHRASE is read once and kept, as before", async () => {
    process.env.MESH_CA_PASSPHRASE = PASS;
    const passphrase = new RunPassphrase();
    expect((await passphrase.get("x: ")).reveal()).toBe(PASS);
    delete process.env.MESH_CA_PASSPHRASE;
    expect((await passphrase.get("x: ")).reveal()).toBe(PASS);
  });
});

describe("Argon2id off the main thread", () => {
  it("gives noble's argon2id bytes", async () => {
    const input = {
      password: Buffer.from("pw"),
      salt: Buffer.alloc(16, 7),
      options: { t: 2, m: 512, p: 2, dkLen: 32 },
    };
    expect(
      (await argon2idOffThread(input)).equals(Buffer.from(argon2id(input.password, input.salt, input.options))),
    ).toBe(true);
  });

  it("leaves the event loop free while it derives (a timer keeps ticking)", async () => {
    // 32 MiB, 3 passes: about a second or more here. On the main thread a 10 ms timer would not tick at all meanwhile.
    let ticks = 0;
    let last = Date.now();
    let gap = 0;
    const timer = setInterval(() => {
      gap = Math.max(gap, Date.now() - last);
      last = Date.now();
      ticks++;
    }, 10);
    const started = Date.now();
    try {
      await argon2idOffThread({
        password: Buffer.from("pw"),
        salt: Buffer.alloc(16),
        options: { t: 3, m: 32 * 1024, p: 4, dkLen: 32 },
      });
    } finally {
      clearInterval(timer);
    }
    const took = Date.now() - started;
    expect(took).toBeGreaterThan(200);
    expect(ticks).toBeGreaterThan(5);
    expect(gap).toBeLessThan(took / 2);
  }, 60_000);
});
