// The inventory's CA, opened before enrollment asks anything: a missing CA or a mistyped passphrase is found before the
// installer has answered a question, not after. On a terminal a wrong passphrase is asked again, up to three times.
import type { Inventory } from "../../lib/inventory/types.ts";
import type { OpenAuthority } from "../../lib/pki/authority.ts";
import { WrongPassphrase } from "../../lib/pki/encrypted-key.ts";
import { openInventoryCa, RunPassphrase } from "../../lib/pki/passphrase.ts";
import type { Terminal } from "./terminal.ts";

const PASSPHRASE_ATTEMPTS = 3;

export async function openEnrollmentCa(inventory: Inventory, terminal: Terminal | undefined): Promise<OpenAuthority> {
  for (let attempt = 1; ; attempt++) {
    try {
      // A RunPassphrase per attempt: it keeps what was typed, and a wrong one must not be kept.
      return await openInventoryCa(inventory, { passphrase: new RunPassphrase() });
    } catch (err) {
      // MESH_CA_PASSPHRASE would give the same wrong answer again: only a typed one is asked again.
      const again = err instanceof WrongPassphrase && terminal && !process.env.MESH_CA_PASSPHRASE;
      if (!again || attempt === PASSPHRASE_ATTEMPTS) throw err;
      const left = PASSPHRASE_ATTEMPTS - attempt;
      terminal.say(`${err.message}; type it again (${left} more ${left === 1 ? "try" : "tries"})`);
    }
  }
}
