// Shell lines that install the lab's firewall4 stand-in into an openwrt image root: /sbin/fw4, /etc/init.d/firewall
// enabled at boot (S19firewall), the default /etc/config/firewall, the release's captured ruleset, and config_generate
// (run once at first boot through uci-defaults) writing /etc/config/network from the host's devices.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { q } from "../shell.ts";

const HERE = dirname(fileURLToPath(import.meta.url));

/** Releases whose `fw4 print` was captured (../shared/openwrt/fw4-ruleset-default*.nft). */
export const FW4_RELEASES = ["23.05", "24.10"] as const;
export type Fw4Release = (typeof FW4_RELEASES)[number];

/** The stand-in's files in this checkout (tests run them against a fake root). */
export const fw4Files = {
  fw4: join(HERE, "fw4"),
  init: join(HERE, "firewall.init"),
  configGenerate: join(HERE, "config_generate"),
  firewallDefault: join(HERE, "firewall.default"),
  ruleset: (release: Fw4Release) => join(HERE, `ruleset-${release}.nft`),
};

/** Where the stand-in reads its data on a host (prefixed by LAB_FW4_ROOT in tests). */
export const FW4_DATA_DIR = "/usr/share/lab-fw4";

export function fw4ImageScript({ root, release = "24.10" }: { root: string; release?: string }): string {
  if (!(FW4_RELEASES as readonly string[]).includes(release))
    throw new Error(`lab fw4: no captured ruleset for OpenWrt ${release} (have ${FW4_RELEASES.join(", ")})`);
  const r = (path: string) => q(`${root}${path}`);
  return [
    `mkdir -p ${r("/sbin")} ${r("/bin")} ${r("/etc/init.d")} ${r("/etc/rc.d")} ${r("/etc/config")} ${r("/etc/nftables.d")} ${r("/usr/share/nftables.d")} ${r(FW4_DATA_DIR)}`,
    `cp ${q(fw4Files.fw4)} ${r("/sbin/fw4")}`,
    `cp ${q(fw4Files.init)} ${r("/etc/init.d/firewall")}`,
    `cp ${q(fw4Files.configGenerate)} ${r("/bin/config_generate")}`,
    `chmod 755 ${r("/sbin/fw4")} ${r("/etc/init.d/firewall")} ${r("/bin/config_generate")}`,
    `cp ${q(fw4Files.ruleset(release as Fw4Release))} ${r(`${FW4_DATA_DIR}/ruleset.nft`)}`,
    `cp ${q(fw4Files.firewallDefault)} ${r(`${FW4_DATA_DIR}/firewall.default`)}`,
    `cp ${q(fw4Files.firewallDefault)} ${r("/etc/config/firewall")}`,
    `ln -sf ../init.d/firewall ${r("/etc/rc.d/S19firewall")}`,
    // OpenWrt's boot script runs config_generate before any service; the lab's boot runs uci-defaults at that point.
    `mkdir -p ${r("/etc/uci-defaults")} && printf '%s\\n' '/bin/config_generate' > ${r("/etc/uci-defaults/00-lab-config-generate")}`,
  ].join("\n");
}
