// The radio-port role (uplinks): the router's port to the home's NanoStation gets its address on the hub's radio the
// OpenWrt way, a static UCI interface in /etc/config/network applied by netifd, so it comes back by itself at every
// boot and after a sysupgrade (which keeps /etc/config). It runs before the nebula role: the address is up before
// Nebula dials the hub's radio address. A router without radio_device loses the interface (it left the radio).
import { sh } from "../../lib/command.ts";
import type { Role } from "../../lib/play.ts";
import { uciSection } from "../../lib/resources/uci.ts";
import { radioDefaults } from "./defaults.ts";
import { radioPortOf } from "./settings.ts";

export const radioPortRole: Role = {
  name: "radio",
  defaults: radioDefaults,
  tasks(ctx) {
    // Only OpenWrt has UCI and netifd; a Debian uplink's radio port is its own administrator's business.
    if (ctx.os !== "openwrt") return [];
    const port = radioPortOf(ctx.host, ctx.vars);
    const name = String(ctx.vars.radio_interface);
    if (!port)
      return [
        uciSection({
          config: "network",
          section: name,
          want: { absent: true },
          then: [sh`/etc/init.d/network reload`],
        }),
      ];
    const seconds = Math.max(1, Math.round(Number(ctx.vars.radio_wait_seconds) || radioDefaults.radio_wait_seconds));
    // netifd applies a reload after the call returns: wait (whole seconds: BusyBox sleep) until the address is there.
    const message = `${port.device} has no address ${port.cidr} ${seconds} s after /etc/init.d/network reload: is the cable to the NanoStation in ${port.device}? (ifstatus ${port.interface}; logread -e netifd)`;
    const wait = sh`{ i=0; until ip -4 addr show dev ${port.device} 2>/dev/null | grep -q ${`inet ${port.cidr} `}; do i=$((i+1)); if [ "$i" -gt ${seconds} ]; then echo ${message} >&2; exit 1; fi; sleep 1; done; }`;
    return [
      uciSection({
        config: "network",
        section: port.interface,
        want: {
          type: "interface",
          options: { device: port.device, proto: "static", ipaddr: port.address, netmask: port.netmask },
        },
        then: [sh`/etc/init.d/network reload`, wait],
      }),
    ];
  },
};
