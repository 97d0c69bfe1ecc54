// Where the mesh CA lives (beside the inventory) and how its passphrase is asked for: MESH_CA_PASSPHRASE, or a prompt without echo.
import { dirname, join } from "node:path";
import { UserError } from "../errors.ts";
import type { Inventory } from "../inventory/types.ts";
import { CaStore } from "./ca-store.ts";
import { openAuthority } from "./authority.ts";

export async function readPassphrase(prompt: string): Promise<string> {
  const fromEnv = process.env.MESH_CA_PASSPHRASE;
  if (fromEnv) return fromEnv;
  if (!process.stdin.isTTY) throw new UserError("the CA passphrase is needed: set MESH_CA_PASSPHRASE, or run this in a terminal to be asked");
  process.stderr.write(prompt);
  return new Promise((resolve) => {
    const stdin = process.stdin;
    let value = "";
    stdin.setRawMode(true);
    stdin.resume();
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off("data", onData);
          process.stderr.write("\n");
          return resolve(value);
        }
        if (ch === "\u0003") process.exit(130);
        value = ch === "\u007f" ? value.slice(0, -1) : value + ch;
      }
    };
    stdin.on("data", onData);
  });
}

export const caStoreFor = (inventory: Inventory) => new CaStore(join(dirname(inventory.file), "pki"));

/** Opens (or, when asked, first creates) the inventory's CA. */
export async function openInventoryCa(inventory: Inventory, options: { create?: boolean; name?: string } = {}) {
  const store = caStoreFor(inventory);
  if (!store.exists()) {
    if (!options.create) throw new UserError(`no mesh CA in ${store.dir}`, "the maintainer creates it once with: npx tsx tasks/deploy-hub.ts --init-ca");
    const passphrase = await readPassphrase(`New passphrase for the mesh CA in ${store.dir}: `);
    store.create({ name: options.name ?? "Community Mesh CA", passphrase, groups: ["hub", "lighthouse", "relay", "uplink", "client", "node"], ips: ["10.0.4.0/16"] });
    return openAuthority(store, passphrase);
  }
  return openAuthority(store, await readPassphrase(`Passphrase of the mesh CA (${store.dir}): `));
}
