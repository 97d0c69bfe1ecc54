// What a sysupgrade must keep, and what the restore service must put back, read from what the play's other roles'
// resources provide (so a role that adds a package, a service or a file under /etc is covered without a list to keep in step).
import type { Resource } from "../../lib/resources/resource.ts";

/** What the play sets up on the host, from its resources' `provides` (lib/resources/resource.ts). */
export interface PlayFootprint {
  packages: string[];
  /** Supervised services, in play order (Nebula's first). */
  services: string[];
  /** One-shot init scripts enabled at boot (routing's boot service). */
  bootServices: string[];
  files: string[];
}

const uniq = (xs: readonly (string | undefined)[]) => [...new Set(xs.filter((x): x is string => !!x))];

export function footprintOf(resources: Resource[]): PlayFootprint {
  const provided = resources.map((r) => r.provides ?? {});
  return {
    packages: uniq(provided.flatMap((p) => p.packages ?? [])),
    services: uniq(provided.map((p) => p.service)),
    bootServices: uniq(provided.map((p) => p.bootService)),
    files: uniq(provided.map((p) => p.file)),
  };
}

export interface KeptPath {
  path: string;
  why: string;
}

/** Directories OpenWrt keeps by itself (sysupgrade-keep.md): files under them need no line of ours. */
const KEPT_BY_OPENWRT = ["/etc/config/", "/etc/dropbear/", "/etc/nftables.d/", "/etc/crontabs/"];

/**
 * The keep list: the list itself (it lives in the image's /lib/upgrade/keep.d, so only a listed copy survives for the
 * second upgrade), the whole state directories, every file the play writes under /etc that OpenWrt would not keep,
 * and the restore service's /etc/rc.d link (links are kept when listed; without it nothing runs the restore).
 * Files outside /etc are not listed: they belong to packages (reinstalled) or are put back by the restore service
 * (fw4's includes under /usr/share/nftables.d, from their copies in /etc/meshisp/fw4).
 */
export function keepList(spec: { self: string; dirs: string[]; files: string[]; restoreLink: string }): KeptPath[] {
  const dirs = spec.dirs.map((d) => (d.endsWith("/") ? d : `${d}/`));
  const covered = (f: string) => [...dirs, ...KEPT_BY_OPENWRT].some((d) => f.startsWith(d)) || f === spec.self;
  return [
    {
      path: spec.self,
      why: "this list: /lib/upgrade/keep.d is part of the image, so without itself the second upgrade would keep nothing of ours",
    },
    ...dirs.map((path) => ({
      path,
      why: path.startsWith("/etc/meshisp")
        ? "the mesh's scripts, state and fw4 include copies (restore, routing boot, shaping)"
        : "the node's Nebula identity (key, certificate, CA, config): without it the node cannot rejoin",
    })),
    ...spec.files
      .filter((f) => f.startsWith("/etc/") && !covered(f))
      .map((path) => ({
        path,
        why: path.startsWith("/etc/init.d/")
          ? "our init script (not part of any package)"
          : "written by a role; kept so the converge after an upgrade has less to do",
      })),
    {
      path: spec.restoreLink,
      why: "the restore service's boot link: it reinstalls the packages and starts the rest, which enables their links again",
    },
  ];
}
