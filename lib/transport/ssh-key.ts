// The private key the runner logs in with, read and checked once before any host is dialled: a missing, public,
// passphrase-protected or unreadable key is the user's to fix, said once with the file (and the inventory line that
// names it), never as a stack trace per host.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
// ssh2 is CommonJS: Node's ESM loader finds Client among its named exports but not utils (tsx fails at startup).
import ssh2 from "ssh2";
import { UserError } from "../errors.ts";
import type { Inventory } from "../inventory/types.ts";

export interface LoginKey {
  path: string;
  /** The private key as ssh2 takes it. */
  key: Buffer;
  /** "ssh-ed25519 AAAA... comment": the line to authorize on a host (derived from the private key, so no .pub is needed). */
  publicLine: string;
}

/** OpenSSH's own defaults, tried in this order when the inventory names no ssh_key. */
const defaultKeyPaths = (): string[] => [`${homedir()}/.ssh/id_ed25519`, `${homedir()}/.ssh/id_rsa`];

const NEW_KEY = "ssh-keygen -t ed25519 -N '' -f";

/** Reads and parses a private key; `where` says what named it ("hosts.yml:10: ssh_key", "the default key"). */
export function readLoginKey(path: string, where: string): LoginKey {
  let key: Buffer;
  try {
    key = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "there is no such file"
        : code === "EISDIR"
          ? "it is a directory, not a key file"
          : code === "EACCES"
            ? "it cannot be read (permission denied)"
            : (err as Error).message;
    throw new UserError(
      `${where}: no SSH private key at ${path}: ${why}`,
      `point ssh_key at the private key the hosts authorize, or make one: ${NEW_KEY} ${path}`,
    );
  }
  const parsed = ssh2.utils.parseKey(key);
  if (parsed instanceof Error) {
    if (/passphrase/i.test(parsed.message)) {
      throw new UserError(
        `${where}: the SSH key ${path} is protected by a passphrase, which the runner cannot ask for (it logs in to many hosts at once, and uses no ssh-agent)`,
        `use a key without a passphrase for the mesh (${NEW_KEY} FILE, then authorize FILE.pub on the hosts), or remove this one's: ssh-keygen -p -f ${path}`,
      );
    }
    throw new UserError(
      `${where}: ${path} is not an SSH private key (${parsed.message}); expected an OpenSSH or PEM private key such as ~/.ssh/id_ed25519`,
      `point ssh_key at the private key, not at another file`,
    );
  }
  const one = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!one.isPrivateKey()) {
    const sibling = path.endsWith(".pub") ? path.slice(0, -4) : undefined;
    throw new UserError(
      `${where}: ${path} is a public key; ssh_key names the private key the runner logs in with`,
      sibling && existsSync(sibling)
        ? `use ${sibling} (the same path without .pub)`
        : "give the private key's path (usually the .pub file's path without .pub)",
    );
  }
  const comment = one.comment ? ` ${one.comment}` : "";
  return { path, key, publicLine: `${one.type} ${one.getPublicSSH().toString("base64")}${comment}` };
}

/**
 * The inventory's login key, or OpenSSH's default one, checked; undefined when the inventory names none and no default
 * exists (password logins only: a router's first contact).
 */
export function inventoryLoginKey(inventory: Pick<Inventory, "sshKey" | "sshKeySource">): LoginKey | undefined {
  if (inventory.sshKey) return readLoginKey(inventory.sshKey, `${inventory.sshKeySource ?? "the inventory"}: ssh_key`);
  const fallback = defaultKeyPaths().find((p) => existsSync(p));
  return fallback ? readLoginKey(fallback, "the default SSH key (the inventory names no ssh_key)") : undefined;
}
