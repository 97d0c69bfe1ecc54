// Facts about paths: what is there (type, mode, owner, hash) and, for small text files, the content.
import { join, raw, sh } from "../command.ts";
import { defineFact, type Fact } from "./fact.ts";

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
 * OpenWrt's default BusyBox has no `stat` (shared/openwrt/busybox-applets-openwrt-23.05.txt), so the probe reads
 * `ls -ldn` (-l, -d and -n are in BusyBox ls whatever its build options, and in GNU ls) and maps the numeric ids to names
 * itself with the shell's own `read` (no awk, no cut: every process costs tens of ms on a small router, and a run
 * probes dozens of paths).
 * Only the first five fields of ls's line are used, so names with spaces or quotes never reach the parser;
 * `set -f` keeps a name with glob characters from expanding when the line is split.
 */
const PROBE = raw(
  [
    `if [ -L "$p" ]; then echo link; elif [ -d "$p" ]; then echo directory; elif [ -f "$p" ]; then echo file; elif [ -e "$p" ]; then echo other; else echo absent; exit 0; fi`,
    `set -f; set -- $(ls -ldn -- "$p"); echo "$1 $5"`,
    `u=$3; g=$4; n=$u; while IFS=: read -r name _ id _; do [ "$id" = "$u" ] && { n=$name; break; }; done < /etc/passwd; echo "$n"`,
    `n=$g; while IFS=: read -r name _ id _; do [ "$id" = "$g" ] && { n=$name; break; }; done < /etc/group; echo "$n"`,
    `if [ -f "$p" ] && [ ! -L "$p" ]; then sha256sum < "$p"; fi; true`,
  ].join("\n"),
);

export const pathFact = (path: string): Fact<PathState> =>
  defineFact(`path:${path}`, join([sh`p=${path}`, PROBE], "\n"), ({ stdout }) => parsePathProbe(stdout));

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
