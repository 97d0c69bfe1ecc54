// The installer's laptop on a home's own LAN (the volunteer's or member's router, 192.168.H.0/24), where a member's
// machine (a mesh client) sits at 192.168.H.2: how the installer reaches that machine to enroll it.
//
// The lab's home LAN is one veth between the home's router (gateway namespace, lan0 192.168.H.1) and the host (wan0
// 192.168.H.2), not a bridge: the laptop gets a veth of its own on the home router (lanN, N = installer + 1) and the
// home router answers ARP for each side on the other's behalf (proxy ARP, a /32 route to the laptop). To the laptop and
// the machine it is one subnet, as on a home's switch; the packets cross the home router (one hop, its forward chain
// accepts LAN to LAN) and the laptop's internet goes out through the home's NAT like any device's at that home.
import { q } from "../shell.ts";
import type { PilotHostPlan } from "./plan.ts";

/** A host a laptop can join the home LAN of: behind a home router ("home" or "remote" site), not a router with br-lan. */
export const hasHomeLan = (h: PilotHostPlan): boolean =>
  !!h.home && (h.pilot.site === "home" || h.pilot.site === "remote") && !h.pilot.routerLan;

/** The home LAN's first three octets, from its router's address ("192.168.15.1" -> "192.168.15"). */
const homeBase = (h: PilotHostPlan) => h.home!.gatewayLan.split(".").slice(0, 3).join(".");

/** Installer k's address on that home LAN (the first .100) and its port on the home router. */
export const homeLanLaptop = (
  h: PilotHostPlan,
  k = 0,
): { address: string; port: string; gateway: string; prefix: number } => ({
  address: `${homeBase(h)}.${100 + k}`,
  port: `lan${k + 1}`,
  gateway: h.home!.gatewayLan,
  prefix: h.home!.prefix ?? 24,
});

/** Plugs installer k's laptop (its eth0) into the home LAN of `host`; unplugScript (network.ts) takes it out again. */
export function plugHomeLanScript(host: PilotHostPlan, laptopNetns: string, k = 0): string {
  const gw = q(host.home!.netns);
  const lap = q(laptopNetns);
  const l = homeLanLaptop(host, k);
  return `set -e
ip -n ${gw} link add ${l.port} type veth peer name eth0 netns ${lap}
ip -n ${gw} addr add ${l.gateway}/32 dev ${l.port} && ip -n ${gw} link set ${l.port} up
ip -n ${gw} route add ${l.address}/32 dev ${l.port}
ip netns exec ${gw} sysctl -qw net.ipv4.conf.lan0.proxy_arp=1 net.ipv4.conf.${l.port}.proxy_arp=1
ip -n ${lap} addr add ${l.address}/${l.prefix} dev eth0 && ip -n ${lap} link set eth0 up && ip -n ${lap} route add default via ${l.gateway}`;
}
