// Per-OS values of the shaping role: the packages that bring tc, HTB/ingress/u32/mirred and IFB.
import type { OsFamily } from "../../lib/inventory/types.ts";

export const shapingOsVars = (os: OsFamily) =>
  os === "openwrt"
    ? // kmod-sched-core has sch_htb, sch_ingress, cls_u32 and act_mirred; fq_codel is built into OpenWrt kernels; cake is kmod-sched-cake.
      { shaping_packages: ["tc-full", "kmod-sched-core", "kmod-ifb"] }
    : // Debian's kernel ships every qdisc as a module; iproute2 brings tc.
      { shaping_packages: ["iproute2"] };
