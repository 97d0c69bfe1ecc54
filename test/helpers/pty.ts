// A command run in a real terminal, as an installer runs it: a pseudo-terminal made by python3's os.forkpty (no npm
// pty module: those need a native build). The test types into it, waits for what it prints, and gets its exit code.
// The command is the terminal's session leader: Ctrl-C typed in cooked mode is SIGINT to it, in raw mode a key.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { waitFor } from "./poll.ts";

// The pty's size is set in the child before exec (readline wraps lines at the terminal's width: 0 would not do).
const DRIVER = `
import os, sys, select, struct, fcntl, termios
pid, fd = os.forkpty()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])
inputs = [fd, 0]
while True:
    ready = select.select(inputs, [], [])[0]
    if fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if not data:
            break
        os.write(1, data)
    if 0 in ready:
        data = os.read(0, 65536)
        if data:
            os.write(fd, data)
        else:
            inputs.remove(0)
code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
sys.exit(128 - code if code < 0 else code)
`;

/** What the terminal showed, without colour and cursor codes or carriage returns. */
const plain = (raw: string): string =>
  raw
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")
    .replace(/\x1b[()][A-Z0-9]/g, "")
    .replace(/\r/g, "");

export class PtyRun {
  #raw = "";
  readonly exited: Promise<number>;
  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.on("data", (d: Buffer) => (this.#raw += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (this.#raw += d.toString("utf8")));
    this.exited = new Promise((resolve) => child.on("close", (code) => resolve(code ?? -1)));
  }

  static start(argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): PtyRun {
    return new PtyRun(spawn("python3", ["-c", DRIVER, ...argv], { cwd: options.cwd, env: options.env }));
  }

  /** Everything shown so far, as text. */
  get text(): string {
    return plain(this.#raw);
  }

  /** Keys typed: "\r" is Enter, "\x03" Ctrl-C, "\x04" Ctrl-D. */
  type(keys: string): void {
    this.child.stdin.write(keys);
  }

  /**
   * Waits until the terminal shows `what` for the `nth` time (1: the first), then returns. Counting lets a test wait
   * for a question asked again without mistaking the first asking for it.
   */
  async waitFor(what: string | RegExp, { nth = 1, timeoutMs = 60_000 } = {}): Promise<void> {
    const count = () =>
      typeof what === "string"
        ? this.text.split(what).length - 1
        : [...this.text.matchAll(new RegExp(what.source, `${what.flags.replace("g", "")}g`))].length;
    try {
      await waitFor(`the terminal to show ${String(what)}${nth > 1 ? ` ${nth} times` : ""}`, () => count() >= nth, {
        timeoutMs,
        everyMs: 20,
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}; the terminal shows:\n${this.text}`);
    }
  }

  /** Waits for the prompt, then types the answer. */
  async answer(prompt: string, keys: string, nth = 1): Promise<void> {
    await this.waitFor(prompt, { nth });
    this.type(keys);
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }
}
