// Facts about paths: what is there (type, mode, owner, hash) and, for small text files, the content.
import { sh } from "../command.ts";
import { defineFact, type Fact } from "./fact.ts";

export interface PathState {
  exists: boolean;
  type?: "file" | "directory" | "link" | "other";
  mode?: string;
  owner?: string;
  group?: string;
  size?: number;
  sha256?: string;
}

export const pathFact = (path: string): Fact<PathState> =>
  defineFact(
    `path:${path}`,
    sh`if [ -L ${path} ]; then echo link; elif [ -d ${path} ]; then echo directory; elif [ -f ${path} ]; then echo file; elif [ -e ${path} ]; then echo other; else echo absent; exit 0; fi; stat -c '%a %U %G %s' ${path}; [ -f ${path} ] && [ ! -L ${path} ] && sha256sum ${path} | cut -d' ' -f1; true`,
    ({ stdout }) => {
      const [kind, stat = "", sha = ""] = stdout.split("\n");
      if (kind === "absent" || !kind) return { exists: false };
      const [mode, owner, group, size] = stat.split(" ");
      return {
        exists: true,
        type: kind as PathState["type"],
        mode: mode?.padStart(4, "0"),
        owner,
        group,
        size: Number(size),
        sha256: sha || undefined,
      };
    },
  );

/** The text of a file, or null when it does not exist. */
export const contentFact = (path: string): Fact<string | null> =>
  defineFact(`content:${path}`, sh`if [ -f ${path} ]; then cat ${path}; else exit 3; fi`, ({ stdout, code }) =>
    code === 3 ? null : stdout,
  );
