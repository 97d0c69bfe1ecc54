// Root filesystems of lab hosts: an "openwrt" image per release (OpenWrt 23.05 or 24.10 as faithfully as this machine
// allows: openwrt/image.ts), and "debian" hosts as an overlay of this machine's own /. An image is the read-only lower
// layer of its hosts' overlays (each host's flash is its own upper layer), so one build serves every lab on this
// machine: it is kept in .lab/images under a key of everything it is made from (the recipe's files and this machine's
// installed packages), and built again only when one of them changes.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  baseFiles,
  baseTree,
  bootSequence,
  busyboxApplets,
  dropbear,
  installedPackages,
  logread,
  packageManager,
  releaseIdentity,
  sysctlAtBoot,
  sysupgradeFiles,
  type ImageContext,
} from "./openwrt/image.ts";
import type { OpenwrtRelease } from "./openwrt/release.ts";
import { procdImageScript } from "./procd/index.ts";
import { bash, q } from "./shell.ts";
import { LAB_DIR } from "./state.ts";

const LAB_SOURCES = dirname(fileURLToPath(import.meta.url));
/** What an image is made from: the lab's own sources (the recipe, its files and fixtures) and the packages it copies. */
const RECIPE = [LAB_SOURCES];
const PACKAGES = "/var/lib/dpkg/status";

let recipeKey: string | undefined;
/** A hash of every file under the lab's sources and of dpkg's status (binaries and libraries come from packages). */
function imageKey(): string {
  if (recipeKey) return recipeKey;
  const hash = createHash("sha256");
  const walk = (path: string): void => {
    if (statSync(path).isDirectory()) for (const entry of readdirSync(path).sort()) walk(join(path, entry));
    else hash.update(`${path}\0`).update(readFileSync(path));
  };
  for (const root of RECIPE) walk(root);
  if (existsSync(PACKAGES)) hash.update(readFileSync(PACKAGES));
  recipeKey = hash.digest("hex").slice(0, 16);
  return recipeKey;
}

/** The machine-wide image of a release for the current recipe (it exists once buildOpenwrtImage resolved). */
export const openwrtImageDir = (release: OpenwrtRelease) => join(LAB_DIR, "images", `openwrt-${release}-${imageKey()}`);

/**
 * Builds the image of one release unless this recipe's is there already. Labs started at once may build the same
 * image: each builds in a directory of its own and renames it into place; the first rename wins, the others' builds go.
 */
export async function buildOpenwrtImage(release: OpenwrtRelease): Promise<string> {
  const final = openwrtImageDir(release);
  if (existsSync(join(final, ".built"))) return final;
  mkdirSync(dirname(final), { recursive: true });
  const root = `${final}.build-${process.pid}-${randomBytes(3).toString("hex")}`;
  const ctx: ImageContext = { root, release };
  const steps = [
    baseTree(ctx),
    busyboxApplets(ctx),
    releaseIdentity(ctx),
    baseFiles(ctx),
    sysctlAtBoot(ctx),
    dropbear(ctx),
    logread(ctx),
    sysupgradeFiles(ctx),
    bootSequence(ctx),
    packageManager(ctx),
    procdImageScript({ root: '"$R"' }),
    // The firewall's step goes here too (before installedPackages: it hashes the conffiles).
    (await import("./fw4/image.ts")).fw4ImageScript(ctx),
    // uci and netifd's static interfaces (/etc/init.d/network at boot, reload, ifup): a router's ports get their addresses from UCI.
    (await import("./netifd/image.ts")).netifdImageScript(ctx),
    installedPackages(ctx),
  ];
  try {
    await bash(
      `set -euo pipefail\nR=${q(root)}\n${steps.join("\n")}\ntouch "$R/.built"\nmv -T "$R" ${q(final)} 2>/dev/null || [ -e ${q(join(final, ".built"))} ]\n`,
    );
  } finally {
    await bash(`rm -rf ${q(root)}`, { check: false });
  }
  return final;
}
