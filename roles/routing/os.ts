// Per-OS values of the routing role: packages (OpenWrt needs VXLAN's kernel module and the full ip; the hub conntrack), BusyBox's path.
import type { OsFamily } from "../../lib/inventory/types.ts";

export const routingOsVars = (os: OsFamily) =>
  os === "openwrt"
    ? { routing_packages: ["kmod-vxlan", "ip-full", "kmod-nft-nat"], routing_busybox: "/bin/busybox" }
    : { routing_packages: ["iproute2", "nftables", "iputils-ping", "busybox", "conntrack"], routing_busybox: "/bin/busybox" };
