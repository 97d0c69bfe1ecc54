// Per-OS values of the nebula role.
import type { OsFamily } from "../../lib/inventory/types.ts";

export const nebulaOsVars = (os: OsFamily) =>
  os === "openwrt"
    ? { nebula_package: "nebula", nebula_bin: "/usr/sbin/nebula", nebula_nft_package: "nftables" }
    : { nebula_package: "nebula", nebula_bin: "/usr/bin/nebula", nebula_nft_package: "nftables" };
