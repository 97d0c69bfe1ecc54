// The installer's terminal: a question answered on one line (readline's editing), a secret typed without echo, and a
// line said. Ctrl-C or Ctrl-D at either is the installer stopping (Interrupted), never an error of theirs.
import { createInterface } from "node:readline";
import { Interrupted } from "../../lib/errors.ts";
import { readPassphrase } from "../../lib/pki/passphrase.ts";

export class Terminal {
  private constructor(
    private readonly input: NodeJS.ReadStream,
    private readonly output: NodeJS.WriteStream,
  ) {}

  /** The terminal the command runs in, or undefined off a terminal (a script, a pipe, CI): then nothing is asked. */
  static open(input = process.stdin, output = process.stderr): Terminal | undefined {
    return input.isTTY ? new Terminal(input, output) : undefined;
  }

  /**
   * One line typed after `prompt`. A readline interface per question, closed before anything else reads the terminal
   * (a secret's raw-mode reader, the run's output); in raw mode Ctrl-C reaches readline as a key, not as SIGINT.
   */
  question(prompt: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const rl = createInterface({ input: this.input, output: this.output, terminal: true, historySize: 0 });
      let settled = false;
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        rl.close();
        settle();
      };
      rl.on("SIGINT", () => finish(() => reject(new Interrupted())));
      // Ctrl-D on an empty line closes the interface, as does the end of the input (the terminal went away).
      rl.on("close", () => finish(() => reject(new Interrupted())));
      rl.question(prompt, (answer) => finish(() => resolve(answer)));
    });
  }

  /** A password or passphrase, not echoed; never from the environment (the caller reads its variable first). */
  secret(prompt: string): Promise<string> {
    return readPassphrase(prompt, { env: null, input: this.input, output: this.output });
  }

  say(line: string): void {
    this.output.write(`${line}\n`);
  }
}
