// Facts about paths: what is there (type, mode, owner, hash) and, for small text files, the content.
import { join, raw, sh, type Command } from "../command.ts";
import { defineFact, type Fact, type ProbeOutput } from "./fact.ts";

export interface PathState {
  exists: boolean;
  type?: "file" | "directory" | "link" | "other";
  /** Four octal digits, setuid/setgid/sticky first: "0644", "4755", "1777". */
  mode?: string;
  /** The user's and group's names from /etc/passwd and /etc/group, or the number where the host has no name for it. */
  owner?: string;
  group?: string;
  size?: number;
  sha256?: string;
}

/**
 * Every path a gather asks about, in one probe of two processes: OpenWrt's default BusyBox has no `stat`
 * (shared/openwrt/busybox-applets-openwrt-23.05.txt), so one `ls -ldn` lists them all (-l, -d and -n are in BusyBox ls
 * whatever its build options, and in GNU ls) and one `sha256sum` hashes the regular files; each path's type, and the
 * id-to-name lines of /etc/passwd and /etc/group, come from the shell's own tests and `read`. A probe per path took
 * three forks and two execs per path: tens of ms each on this lab machine (lib/facts/host.ts), on every host, every play.
 * Output: one type line per path in order, then `-- ls`, `-- sha256`, `-- passwd` and `-- group` sections (no ls line
 * starts with "-- ": its mode string has ten characters). `set -f` keeps names with glob characters as they are.
 */
function pathsProbe(paths: readonly string[]): Command {
  const list = join(
    paths.map((p) => sh`${p}`),
    " ",
  );
  return join(
    [
      // The regular files (not links: that test came first) are collected in "$@" for sha256sum.
      raw("set -f; e=; set --"),
      sh`for p in ${list}; do if [ -L "$p" ]; then echo link; e=1; elif [ -d "$p" ]; then echo directory; e=1; elif [ -f "$p" ]; then echo file; e=1; set -- "$@" "$p"; elif [ -e "$p" ]; then echo other; e=1; else echo absent; fi; done`,
      sh`echo '-- ls'; if [ -n "$e" ]; then ls -ldn -- ${list}; fi`,
      raw(`echo '-- sha256'; if [ $# -gt 0 ]; then sha256sum -- "$@"; fi`),
      raw(`echo '-- passwd'; while IFS=: read -r name _ id _; do echo "$id $name"; done < /etc/passwd`),
      raw(`echo '-- group'; while IFS=: read -r name _ id _; do echo "$id $name"; done < /etc/group; true`),
    ],
    "\n",
  );
}

/** The batch's output cut into each path's own, in the form parsePathProbe reads (kind, mode and size, owner, group, hash). */
function splitPathsProbe(output: ProbeOutput, paths: readonly string[]): Map<string, ProbeOutput> {
  const lines = output.stdout.split("\n");
  // Cut short (the connection lost mid-probe): no path is answered, and the gather says so.
  if (!lines.includes("-- group")) return new Map();
  const section = (name: string) => {
    const from = lines.indexOf(`-- ${name}`);
    if (from === -1) return [];
    const to = lines.findIndex((l, i) => i > from && l.startsWith("-- "));
    return lines.slice(from + 1, to === -1 ? undefined : to).filter(Boolean);
  };
  const ls = section("ls");
  const hashes = section("sha256");
  const names = (entries: string[]) => {
    const byId = new Map<string, string>();
    for (const entry of entries) {
      const at = entry.indexOf(" ");
      const id = entry.slice(0, at);
      if (!byId.has(id)) byId.set(id, entry.slice(at + 1)); // the first entry with the id, as getpwuid finds it
    }
    return byId;
  };
  const users = names(section("passwd"));
  const groups = names(section("group"));
  const result = new Map<string, ProbeOutput>();
  paths.forEach((path, i) => {
    const kind = lines[i];
    if (kind === "absent") return result.set(path, { stdout: "absent\n", code: 0 });
    // ls prints the operand as given: "... /etc/x" (and "... /etc/x -> target" for a link; only a link's line starts with l).
    const line =
      kind === "link"
        ? ls.find((l) => l.startsWith("l") && l.includes(` ${path} -> `))
        : ls.find((l) => !l.startsWith("l") && l.endsWith(` ${path}`));
    const [mode, , uid = "", gid = "", size = ""] = line?.split(/\s+/) ?? [];
    // sha256sum prints "<hash>  <name>" for each file (GNU escapes names with a backslash or newline: never ours).
    const hash = kind === "file" ? hashes.find((h) => h.slice(64) === `  ${path}`)?.slice(0, 64) : undefined;
    const text = line
      ? `${kind}\n${mode} ${size}\n${users.get(uid) ?? uid}\n${groups.get(gid) ?? gid}\n${hash ? `${hash}  -` : ""}\n`
      : `${kind}\n`;
    result.set(path, { stdout: text, code: 0 });
  });
  return result;
}

const PATHS_BATCH = { kind: "paths", command: pathsProbe, split: splitPathsProbe };

export const pathFact = (path: string): Fact<PathState> => ({
  key: `path:${path}`,
  // The probe alone, built only if asked for: a gather runs the batch (a run builds every host's tasks, some twice).
  get command() {
    return pathsProbe([path]);
  },
  parse: ({ stdout }) => parsePathProbe(stdout),
  batch: { ...PATHS_BATCH, arg: path },
});

export function parsePathProbe(stdout: string): PathState {
  const [kind, modeAndSize = "", owner = "", group = "", sha = ""] = stdout.split("\n").map((l) => l.trim());
  if (kind === "absent" || !kind) return { exists: false };
  const [modeString = "", size = ""] = modeAndSize.split(" ");
  return {
    exists: true,
    type: kind as PathState["type"],
    mode: modeFromLs(modeString),
    owner: owner || undefined,
    group: group || undefined,
    // A device's "size" is "major," in ls's line: not a size.
    ...(/^\d+$/.test(size) ? { size: Number(size) } : {}),
    // sha256sum reading stdin prints "<hash>  -".
    sha256: sha.split(/\s+/)[0] || undefined,
  };
}

/**
 * ls's mode string ("-rwsr-xr-x", "drwxrwxrwt", GNU's "-rw-r--r--." with an SELinux or ACL mark) as four octal
 * digits. s/S in the user's and group's execute place are setuid/setgid (with/without x), t/T in the others' sticky.
 */
export function modeFromLs(modeString: string): string | undefined {
  const perms = modeString.slice(1, 10);
  if (!/^[r-][w-][xsS-][r-][w-][xsS-][r-][w-][xtT-]$/.test(perms)) return undefined;
  let special = 0;
  let digits = "";
  for (let triplet = 0; triplet < 3; triplet++) {
    const [r, w, x] = perms.slice(triplet * 3, triplet * 3 + 3);
    if (x !== "-" && x !== "x") special |= 4 >> triplet;
    digits += String((r === "r" ? 4 : 0) + (w === "w" ? 2 : 0) + (x === "x" || x === "s" || x === "t" ? 1 : 0));
  }
  return `${special}${digits}`;
}

/** The text of a file, or null when it does not exist. */
export const contentFact = (path: string): Fact<string | null> =>
  defineFact(`content:${path}`, sh`if [ -f ${path} ]; then cat ${path}; else exit 3; fi`, ({ stdout, code }) =>
    code === 3 ? null : stdout,
  );
