// Per-OS values of the shaping role: the packages that bring tc, HTB/ingress/u32/mirred and IFB, and iperf3 to measure the caps.
import type { HostFacts } from "../../lib/facts/host.ts";
import { openwrtRelease } from "../../lib/facts/release.ts";

export const shapingOsVars = (facts: Pick<HostFacts, "os" | "release">) =>
  facts.os === "openwrt"
    ? // A default image has no tc; the release's name for it is in lib/facts/release.ts. kmod-sched-core has sch_htb,
      // sch_ingress, cls_u32 and act_mirred; fq_codel is built into OpenWrt kernels; cake is kmod-sched-cake.
      {
        shaping_packages: [openwrtRelease(facts.release).packages.tc, "kmod-sched-core", "kmod-ifb"],
        shaping_iperf3_package: openwrtRelease(facts.release).packages.iperf3,
      }
    : // Debian's kernel ships every qdisc as a module; iproute2 brings tc.
      { shaping_packages: ["iproute2"], shaping_iperf3_package: "iperf3" };
