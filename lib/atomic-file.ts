// Writes a record file on the maintainer's disk (inventory, CA register, sealed keys) so that a crash or a power cut
// leaves the old content or the new, never half: a temp file beside it, fsynced, renamed over it, the directory fsynced.
import { randomBytes } from "node:crypto";
import {
  closeSync,
  fchmodSync,
  fchownSync,
  fsyncSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from "node:fs";
import { dirname } from "node:path";

export interface AtomicWriteOptions {
  /** Mode of a new file. A file that exists keeps its own mode (and, when we run as root, its owner and group). */
  mode?: number;
  /** Called with the temp file's path once it is whole on disk, before the rename: throw to keep the old file. */
  check?: (tempFile: string) => void;
}

const existing = (file: string): Stats | undefined => {
  try {
    return statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
};

/** fsync of the directory makes the rename itself durable (ext4 and xfs may otherwise lose it on a power cut). */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeFileAtomic(file: string, content: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const before = existing(file);
  const mode = before ? before.mode & 0o7777 : (options.mode ?? 0o600);
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    try {
      // Set explicitly: open's mode is narrowed by the umask, and a replaced file must not change hands.
      fchmodSync(fd, mode);
      if (before && process.getuid?.() === 0) fchownSync(fd, before.uid, before.gid);
      const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
      for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    options.check?.(tmp);
    renameSync(tmp, file);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // Already renamed, or the directory went away: nothing of ours is left to remove.
    }
    throw err;
  }
  syncDirectory(dirname(file));
}

/** Appends in one O_APPEND write (two processes appending at once never interleave) and fsyncs: known_hosts' pins. */
export function appendFileDurable(file: string, text: string, options: { mode?: number } = {}): void {
  const created = !existing(file);
  const fd = openSync(file, "a", options.mode ?? 0o600);
  try {
    const bytes = Buffer.from(text, "utf8");
    // One write call: a short write here would need a second one that another appender could get in before.
    const written = writeSync(fd, bytes);
    if (written !== bytes.length) throw new Error(`${file}: wrote ${written} of ${bytes.length} bytes`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (created) syncDirectory(dirname(file));
}
