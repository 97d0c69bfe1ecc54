// Per-OS values of the routing role: packages (OpenWrt needs VXLAN's kernel module and the full ip; the hub conntrack), BusyBox's path.
import type { HostFacts } from "../../lib/facts/host.ts";
import { openwrtRelease } from "../../lib/facts/release.ts";

export const routingOsVars = (facts: Pick<HostFacts, "os" | "release">) =>
  facts.os === "openwrt"
    ? // BusyBox's ip has neither -j nor vxlan: the release's full ip (lib/facts/release.ts) replaces it.
      {
        routing_packages: ["kmod-vxlan", openwrtRelease(facts.release).packages.ip, "kmod-nft-nat"],
        routing_busybox: "/bin/busybox",
      }
    : {
        routing_packages: ["iproute2", "nftables", "iputils-ping", "busybox", "conntrack"],
        routing_busybox: "/bin/busybox",
      };
