// Per-OS values of the nebula role, and the config features of the nebula version the host runs.
import type { HostFacts } from "../../lib/facts/host.ts";
import { compareVersions } from "../../lib/facts/release.ts";

/** The version whose features the config targets when the host has no nebula yet (OpenWrt 22.03 and Debian 12 ship it). */
const NEBULA_BASELINE = "1.6.1";

/**
 * Settings that only some versions understand, keyed by the version the host reports. None of today's config
 * depends on one: the table is where such a setting goes, so 1.6.1 hosts keep exactly the config they have.
 */
export const nebulaFeatures = (version: string | null) => {
  const v = version && compareVersions(version, NEBULA_BASELINE) > 0 ? version : NEBULA_BASELINE;
  return {
    nebula_version: v,
    /** firewall rules' local_cidr: silently ignored before 1.7. */
    nebula_supports_local_cidr: compareVersions(v, "1.7.0") >= 0,
  };
};

export const nebulaOsVars = (facts: Pick<HostFacts, "os" | "nebulaVersion">) => ({
  ...(facts.os === "openwrt"
    ? // nft comes with the default image as nftables-json (firewall4 depends on it), which only provides "nftables".
      { nebula_package: "nebula", nebula_bin: "/usr/sbin/nebula", nebula_nft_package: "nftables-json" }
    : { nebula_package: "nebula", nebula_bin: "/usr/bin/nebula", nebula_nft_package: "nftables" }),
  ...nebulaFeatures(facts.nebulaVersion),
});
