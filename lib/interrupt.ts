// Ctrl-C during a run: the first stops it cleanly (no host starts, none sends another step; what was sent finishes,
// each step being atomic), the second quits at once. Both end in Interrupted's sentence and exit 130 (cli.ts).
import { Interrupted } from "./errors.ts";

interface InterruptHandling {
  /** Aborted at the first Ctrl-C. */
  readonly signal: AbortSignal;
  /** Stops listening (the run is over). */
  stop(): void;
}

/**
 * Installs the SIGINT handler. `quit` ends the process with the Interrupted error (the one message and exit code);
 * `say` tells the person what happens meanwhile.
 */
export function handleInterrupts(
  quit: (err: Interrupted) => never,
  say: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): InterruptHandling {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) quit(new Interrupted());
    controller.abort();
    say(
      "\nstopping: no host starts anything new; steps already sent finish (each is atomic). Ctrl-C again quits at once.",
    );
  };
  process.on("SIGINT", onSigint);
  return { signal: controller.signal, stop: () => process.off("SIGINT", onSigint) };
}
