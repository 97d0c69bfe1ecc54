// How an enrollment command ends: its exit code, an error as a message (lib/cli.ts reportError), and the answers kept
// for a re-run said on the way out (removed once the enrollment completes). Ctrl-C while it runs (not at a question:
// there the terminal is raw and the question throws Interrupted itself) is a clean stop too.
import { reportError } from "../../lib/cli.ts";
import { Interrupted } from "../../lib/errors.ts";
import type { KeptAnswers } from "./kept-answers.ts";

/** What main() tells the ending: the answers it keeps, once it has any. */
export interface EnrollmentState {
  kept?: KeptAnswers;
}

export function runEnrollment(main: (state: EnrollmentState) => Promise<number>): void {
  const state: EnrollmentState = {};
  const end = (code: number): never => {
    if (code === 0) state.kept?.forget();
    else {
      const note = state.kept?.note();
      if (note) console.error(note);
    }
    process.exit(code);
  };
  // Steps already done stay done (each is safe to repeat): the re-run finishes the job.
  process.on("SIGINT", () => end(reportError(new Interrupted())));
  main(state).then(end, (err) => end(reportError(err)));
}
