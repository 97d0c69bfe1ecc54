// Where the mesh CA lives (beside the inventory) and how its passphrase is asked for: MESH_CA_PASSPHRASE, or a prompt without echo.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Secret } from "../command.ts";
import { Interrupted, UserError } from "../errors.ts";
import type { Inventory } from "../inventory/types.ts";
import { CaStore, MIN_PASSPHRASE_LENGTH } from "./ca-store.ts";
import { openAuthority, type OpenAuthority } from "./authority.ts";

const PASSPHRASE_ENV = "MESH_CA_PASSPHRASE";

export interface PassphraseSource {
  /** Environment variable to read first; null: always prompt. Default MESH_CA_PASSPHRASE. */
  env?: string | null;
  input?: NodeJS.ReadStream;
  output?: NodeJS.WritableStream;
}

/** The passphrase from the environment, or typed on a terminal without echo; a clear error if neither is possible. */
export async function readPassphrase(prompt = "CA passphrase: ", source: PassphraseSource = {}): Promise<string> {
  const envName = source.env === undefined ? PASSPHRASE_ENV : source.env;
  const fromEnv = envName ? process.env[envName] : undefined;
  if (fromEnv) return fromEnv;
  const input = source.input ?? process.stdin;
  const output = source.output ?? process.stderr;
  if (!input.isTTY || typeof input.setRawMode !== "function") {
    throw new UserError(
      `a passphrase is needed and there is no terminal to ask on${envName ? `: set ${envName}` : ""}`,
      envName ? `e.g. read -rs ${envName} && export ${envName}` : undefined,
    );
  }
  return new Promise((resolve, reject) => {
    let value = "";
    const done = (finish: () => void) => {
      input.setRawMode(false);
      input.pause();
      input.off("data", onData);
      input.off("end", onEnd);
      output.write("\n");
      finish();
    };
    // In raw mode Ctrl-C is a key, not SIGINT: the person stopping (as Ctrl-D on an empty line, or the terminal gone).
    const onEnd = () => done(() => reject(new Interrupted()));
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done(() => resolve(value));
        if (ch === "\u0003" || (ch === "\u0004" && value === "")) return onEnd();
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else if (ch >= " ") value += ch;
      }
    };
    if (input.readableEnded) return reject(new Interrupted());
    input.on("data", onData);
    input.once("end", onEnd);
    // No echo before the prompt shows: keys typed as soon as it appears must not reach the screen.
    input.setRawMode(true);
    output.write(prompt);
    input.resume();
  });
}

/** A passphrase for a new CA: from the environment, or typed twice on a terminal; at least MIN_PASSPHRASE_LENGTH long. */
export async function readNewPassphrase(what: string, source: PassphraseSource = {}): Promise<string> {
  const envName = source.env === undefined ? PASSPHRASE_ENV : source.env;
  const first = await readPassphrase(`New passphrase for ${what}: `, source);
  if (first.length < MIN_PASSPHRASE_LENGTH)
    throw new UserError(`the CA passphrase must be at least ${MIN_PASSPHRASE_LENGTH} characters`);
  if (envName && process.env[envName]) return first;
  const again = await readPassphrase("The same passphrase again: ", source);
  if (again !== first) throw new UserError("the two passphrases differ; nothing was created");
  return first;
}

/**
 * The CA's passphrase for one run: read (MESH_CA_PASSPHRASE, or asked on the terminal) the first time a file sealed
 * with it is opened, then held in memory only, as a Secret, for the others (the hub's service secrets are sealed with
 * it too): a run asks once. Never written anywhere, and prints as ***.
 */
export class RunPassphrase {
  #value: Promise<Secret> | undefined;
  constructor(private readonly source: PassphraseSource = {}) {}

  /** The passphrase, asked with `prompt` if this is the first time in the run. */
  get(prompt: string): Promise<Secret> {
    this.#value ??= readPassphrase(prompt, this.source).then((p) => new Secret(p));
    return this.#value;
  }

  /** Sets the passphrase a new CA was just sealed with (it was typed twice already). */
  chosen(passphrase: string): void {
    this.#value = Promise.resolve(new Secret(passphrase));
  }
}

/** What the mesh CA allows its certificates: the node types' groups and the mesh's /16. */
const CA_GROUPS = ["hub", "lighthouse", "relay", "uplink", "client", "node"] as const;
const CA_IPS = ["10.0.4.0/16"] as const;

export const caStoreFor = (inventory: Inventory): CaStore => new CaStore(join(dirname(inventory.file), "pki"));

/**
 * Opens (or, when asked, first creates) the inventory's CA. Under --check (`check`) a CA that would be created is made
 * in a temporary directory instead, removed when the process exits: the run can plan certificates, nothing is kept.
 */
export async function openInventoryCa(
  inventory: Inventory,
  options: {
    create?: boolean;
    name?: string;
    check?: boolean;
    log?: (line: string) => void;
    passphrase?: RunPassphrase;
  } = {},
): Promise<OpenAuthority> {
  const store = caStoreFor(inventory);
  const runPassphrase = options.passphrase ?? new RunPassphrase();
  if (!store.exists()) {
    if (!options.create)
      throw new UserError(
        `no mesh CA in ${store.dir}`,
        "the maintainer creates it once with: npx tsx tasks/deploy-hub.ts --init-ca",
      );
    let target = store;
    let passphrase: string;
    if (options.check) {
      target = new CaStore(mkdtempSync(join(tmpdir(), "meshisp-check-ca-")));
      process.once("exit", () => rmSync(target.dir, { recursive: true, force: true }));
      (options.log ?? console.log)(
        `check mode: a new mesh CA would be created in ${store.dir}; planning with a throwaway one`,
      );
      passphrase = randomBytes(24).toString("base64");
    } else {
      passphrase = await readNewPassphrase(`the mesh CA in ${store.dir}`);
      runPassphrase.chosen(passphrase);
    }
    const { key } = await target.createAndUnlock({
      name: options.name ?? "Community Mesh CA",
      passphrase,
      groups: [...CA_GROUPS],
      ips: [...CA_IPS],
    });
    return openAuthority(target, key);
  }
  return openAuthority(store, await runPassphrase.get(`Passphrase of the mesh CA (${store.dir}): `));
}
