// The enrollment commands' questions: a flag's value, else a question on the terminal, else a UserError naming the flag;
// and secrets read without echo (never from flags).
import type { Interface } from "node:readline/promises";
import { UserError } from "../../lib/errors.ts";
import { readPassphrase } from "../../lib/pki/passphrase.ts";

export type Ask = (flag: string, question: string, fallback?: string) => Promise<string>;

/** `values`: the parsed flags; `rl`: the terminal, or undefined off a terminal (then a missing flag is an error). */
export function asker(values: Record<string, unknown>, rl: Interface | undefined, command: string): Ask {
  const ask: Ask = async (flag, question, fallback) => {
    const given = values[flag] as string | undefined;
    if (given !== undefined) return given;
    if (!rl) {
      if (fallback !== undefined) return fallback;
      throw new UserError(`--${flag} is needed (no terminal to ask on)`, `run npx tsx ${command} --help`);
    }
    const answer = (await rl.question(`${question}${fallback ? ` [${fallback}]` : ""}: `)).trim();
    return answer || fallback || ask(flag, question, fallback);
  };
  return ask;
}

/** A password typed on the terminal (not the CA's passphrase: MESH_CA_PASSPHRASE is hidden from the prompt meanwhile). */
export async function readPasswordPrompt(prompt: string): Promise<string> {
  const saved = process.env.MESH_CA_PASSPHRASE;
  delete process.env.MESH_CA_PASSPHRASE;
  try {
    return await readPassphrase(prompt);
  } finally {
    if (saved !== undefined) process.env.MESH_CA_PASSPHRASE = saved;
  }
}
