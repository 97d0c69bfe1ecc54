// Root filesystems of lab hosts: an "openwrt" image per release (OpenWrt 23.05 or 24.10 as faithfully as this machine
// allows: openwrt/image.ts), built once per lab run in <lab>/openwrt-image-<release>, and "debian" hosts as an overlay
// of this machine's own /.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { baseFiles, baseTree, bootSequence, busyboxApplets, dropbear, installedPackages, logread, packageManager, releaseIdentity, sysctlAtBoot, sysupgradeFiles, type ImageContext } from "./openwrt/image.ts";
import type { OpenwrtRelease } from "./openwrt/release.ts";
import { procdImageScript } from "./procd/index.ts";
import { bash, q } from "./shell.ts";

export const openwrtImageDir = (labDir: string, release: OpenwrtRelease) => join(labDir, `openwrt-image-${release}`);

/** Builds the image of one release (once: a finished image has .built). */
export async function buildOpenwrtImage(labDir: string, release: OpenwrtRelease): Promise<string> {
  const root = openwrtImageDir(labDir, release);
  if (existsSync(join(root, ".built"))) return root;
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
    installedPackages(ctx),
  ];
  await bash(`set -euo pipefail\nR=${q(root)}\n${steps.join("\n")}\ntouch "$R/.built"\n`);
  return root;
}
