// The command that replaces a file atomically: printf chunks into a temp file beside it, check the hash, rename.
import { createHash } from "node:crypto";
import { posix } from "node:path";
import { join, raw, secret, sh, type Command } from "../command.ts";

/** Encodes bytes as a printf format string: printable ASCII as is, everything else as \ooo octal (POSIX, no $'...'). */
export function printfFormat(data: Buffer): string {
  let out = "";
  for (const [i, byte] of data.entries()) {
    if (byte === 0x25) out += "%%";
    // A format starting with "-" would be read as an option.
    else if (i === 0 && byte === 0x2d) out += "\\055";
    else if (byte === 0x5c) out += "\\\\";
    else if (byte >= 0x20 && byte < 0x7f && byte !== 0x27) out += String.fromCharCode(byte);
    else out += `\\${byte.toString(8).padStart(3, "0")}`;
  }
  return out;
}

const CHUNK_BYTES = 2048;

export interface WriteFileOptions {
  path: string;
  content: string | Buffer;
  mode?: string;
  owner?: string;
  group?: string;
  /** Show the content as *** wherever the command is displayed. */
  secret?: boolean;
}

export function writeFileCommand(options: WriteFileOptions): Command {
  const data = typeof options.content === "string" ? Buffer.from(options.content) : options.content;
  const hash = createHash("sha256").update(data).digest("hex");
  const tmp = posix.join(posix.dirname(options.path), `.${posix.basename(options.path)}.meshisp-new`);
  const writes: Command[] = [sh`: > ${tmp}`];
  for (let at = 0; at < data.length; at += CHUNK_BYTES) {
    const format = printfFormat(data.subarray(at, at + CHUNK_BYTES));
    writes.push(sh`printf ${options.secret ? secret(format) : format} >> ${tmp}`);
  }
  // chown takes "user", "user:group" or ":group" (group only).
  const owner =
    options.owner || options.group ? `${options.owner ?? ""}${options.group ? `:${options.group}` : ""}` : undefined;
  // A subshell keeps the umask from reaching the commands that follow.
  const body = join(
    [
      raw("umask 077"),
      ...writes,
      // A script cut short never reaches the rename; a wrong hash never replaces the target.
      sh`[ "$(sha256sum < ${tmp} | cut -d' ' -f1)" = ${hash} ]`,
      sh`chmod ${options.mode ?? "0644"} ${tmp}`,
      ...(owner ? [sh`chown ${owner} ${tmp}`] : []),
      sh`mv -f ${tmp} ${options.path}`,
    ],
    " && ",
  );
  // -v shows this, not kilobytes of octal printf text; a secret's hash is not shown (a short secret could be guessed from it).
  const what = `${data.length} byte${data.length === 1 ? "" : "s"}${options.secret ? ", secret" : `, sha256 ${hash.slice(0, 8)}…`}`;
  return join([raw("("), body, raw(")")], " ").labelled(
    `write ${options.path} (${what}${options.mode ? `, mode ${options.mode}` : ""}${owner ? `, owner ${owner}` : ""})`,
  );
}
