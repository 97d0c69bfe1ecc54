// A lab host's power cycle and an OpenWrt host's sysupgrade (LabHost.reboot / LabHost.sysupgrade). The list of what a
// sysupgrade keeps lives in one place, the host's own /sbin/sysupgrade (files/sysupgrade): this only runs it.
import { copyFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { bootHost, freshNetnsScript, hostPaths, mountRootScript, stopHost, type HostContext } from "../host.ts";
import type { AnyHostPlan } from "../plan.ts";
import { bash, inHost, q } from "../shell.ts";

/** What changes across a reboot: the init (and the PIDs), and after a reflash without settings the host key. */
export interface LiveHost {
  plan: AnyHostPlan;
  pid: number;
  parentPid: number;
  hostKey: string;
}

export interface LifecycleDeps {
  ctx: HostContext;
  waitForSsh(plan: AnyHostPlan): Promise<void>;
}

/** Power cycle: processes end, the kernel's network state is forgotten but the lab's wiring, /tmp goes, flash stays. */
export async function rebootHost(
  host: LiveHost,
  deps: LifecycleDeps,
  reflash?: (paths: ReturnType<typeof hostPaths>) => Promise<void>,
): Promise<void> {
  const { plan } = host;
  const paths = hostPaths(deps.ctx.labDir, plan.spec.name);
  await stopHost(plan, host);
  await bash(freshNetnsScript(plan));
  if (reflash) await reflash(paths);
  Object.assign(host, await bootHost(plan, deps.ctx));
  await deps.waitForSsh(plan);
}

/**
 * sysupgrade to the same image: `sysupgrade -b` in the host (keepSettings) writes the archive of what the real one
 * keeps, the flash is replaced by an empty one, the archive is unpacked onto it (as the first boot of a real upgrade
 * does), and the host boots; its first boot runs /etc/uci-defaults (10_disable_services among them).
 */
export async function sysupgradeHost(host: LiveHost, deps: LifecycleDeps, keepSettings: boolean): Promise<void> {
  const { plan } = host;
  if (plan.spec.kind !== "openwrt")
    throw new Error(`lab host ${plan.spec.name}: sysupgrade is for "openwrt" hosts (this one is ${plan.spec.kind})`);
  const paths = hostPaths(deps.ctx.labDir, plan.spec.name);
  const archive = join(paths.hostDir, "sysupgrade.tgz");
  rmSync(archive, { force: true });
  if (keepSettings) {
    const made = await inHost(
      host.pid,
      "openwrt",
      "rm -f /tmp/sysupgrade.tgz && /sbin/sysupgrade -b /tmp/sysupgrade.tgz",
    );
    if (made.code !== 0)
      throw new Error(
        `lab host ${plan.spec.name}: sysupgrade -b failed (exit ${made.code}):\n${made.stdout}${made.stderr}`,
      );
    // The host's /tmp is a tmpfs of its own mount namespace: read it through the init's root.
    copyFileSync(`/proc/${host.pid}/root/tmp/sysupgrade.tgz`, archive);
  }
  await rebootHost(host, deps, async (p) => {
    await bash(`set -euo pipefail
umount ${q(p.root)}
rm -rf ${q(p.upper)} ${q(p.work)}
mkdir -p ${q(p.upper)} ${q(p.work)}
${existsSync(archive) ? `tar xzf ${q(archive)} -C ${q(p.upper)}` : ""}
${mountRootScript(plan, deps.ctx.labDir)}`);
  });
  // Without kept settings dropbear made a new host key at boot.
  const key = await inHost(
    host.pid,
    "openwrt",
    "dropbearkey -y -f /etc/dropbear/dropbear_ed25519_host_key | grep '^ssh-'",
  );
  const hostKey = key.stdout.match(/^(ssh-\S+ \S+)/m)?.[1];
  if (hostKey) host.hostKey = hostKey;
}
