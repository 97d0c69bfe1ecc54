// Shell scripts that wire the pilot topology: the internet, the kitchen LAN, the radio backhaul with a rate per link,
// homes, routers' br-lan, the laptops. Every link is created inside namespaces the lab made (`ip -n NS link add ...
// netns OTHER`): nothing is ever added to the root namespace, and nothing there routes or translates.
import { homeNftables } from "../network.ts";
import { INTERNET_ROUTER, SERVICES_ADDRESS, SERVICES_ROUTER } from "../plan.ts";
import { q } from "../shell.ts";
import { installerAddress, MAX_INSTALLERS, ROUTER_LAN, type PilotHostPlan, type PilotNames } from "./plan.ts";

/** The port installer k's laptop plugs into on a router (a GL.iNet's LAN ports, enslaved to br-lan): lan1, lan2, ... */
const installerPort = (k: number): string => `lan${k + 1}`;
/** Every port an installer's laptop may be plugged into (kept across a router's reboot). */
const INSTALLER_PORTS = Array.from({ length: MAX_INSTALLERS }, (_, k) => installerPort(k));

/** A bridge-family filter dropping every frame to or from the ports in its set (a cut line or radio link). */
const CUT_TABLE = `table bridge labcut {
  set ports { type ifname; }
  chain forward { type filter hook forward priority -200; iifname @ports drop; oifname @ports drop; }
  chain input { type filter hook input priority -200; iifname @ports drop; }
  chain output { type filter hook output priority -200; oifname @ports drop; }
}`;

/** The internet, services, kitchen and radio namespaces, and the laptops (the kitchen one on the kitchen LAN). */
export function pilotCoreScript(n: PilotNames, kitchen: PilotHostPlan): string {
  const k = kitchen.pilot.kitchen!;
  const all = [n.internet, n.services, n.kitchen, n.radio, n.kitchenLaptop, ...n.installerLaptops];
  return `set -e
${all.map((ns) => `ip netns add ${ns} && ip -n ${ns} link set lo up`).join("\n")}
ip -n ${n.internet} link add br0 type bridge && ip -n ${n.internet} addr add ${INTERNET_ROUTER}/24 dev br0 && ip -n ${n.internet} link set br0 up
ip netns exec ${n.internet} sysctl -qw net.ipv4.ip_forward=1
ip -n ${n.internet} link add svc0 type veth peer name eth0 netns ${n.services}
ip -n ${n.internet} addr add ${SERVICES_ROUTER}/24 dev svc0 && ip -n ${n.internet} link set svc0 up
ip -n ${n.services} addr add ${SERVICES_ADDRESS}/24 dev eth0 && ip -n ${n.services} link set eth0 up && ip -n ${n.services} route add default via ${SERVICES_ROUTER}
ip -n ${n.kitchen} link add br0 type bridge && ip -n ${n.kitchen} link set br0 up
ip -n ${n.radio} link add br0 type bridge && ip -n ${n.radio} link set br0 up
ip -n ${n.kitchen} link add lk type veth peer name eth0 netns ${n.kitchenLaptop}
ip -n ${n.kitchen} link set lk master br0 && ip -n ${n.kitchen} link set lk up
ip -n ${n.kitchenLaptop} addr add ${k.laptopAddress}/${k.prefix} dev eth0 && ip -n ${n.kitchenLaptop} link set eth0 up && ip -n ${n.kitchenLaptop} route add default via ${kitchen.lan!.hostAddress}
ip netns exec ${n.internet} nft -f - <<'NFT'\n${CUT_TABLE}\nNFT
ip netns exec ${n.radio} nft -f - <<'NFT'\n${CUT_TABLE}\nNFT`;
}

/** The links the host's own namespace holds (moved aside and back across a reboot), in creation order. */
const pilotHostLinks = (h: PilotHostPlan): string[] => [
  "wan0",
  ...(h.pilot.radio ? ["radio0"] : []),
  ...(h.pilot.kitchen ? ["lan0"] : []),
];

/** A host's namespace, its internet edge (itself or its gateway), the gateway's NAT, its radio port, its LANs. */
export function pilotHostNetworkScript(h: PilotHostPlan, n: PilotNames): string {
  const ns = h.netns;
  const edge = h.home ? h.home.netns : ns;
  const lines = [`ip netns add ${ns}`, `ip -n ${ns} link set lo up`];
  if (h.home) lines.push(`ip netns add ${edge}`, `ip -n ${edge} link set lo up`);
  lines.push(
    `ip -n ${n.internet} link add ${h.pilot.linePort} type veth peer name wan0 netns ${edge}`,
    `ip -n ${n.internet} link set ${h.pilot.linePort} master br0 && ip -n ${n.internet} link set ${h.pilot.linePort} up`,
  );
  if (h.home) {
    const gw = h.home.netns;
    lines.push(
      `ip -n ${gw} addr add ${h.publicAddress}/24 dev wan0 && ip -n ${gw} link set wan0 up && ip -n ${gw} route add default via ${INTERNET_ROUTER}`,
      `ip -n ${gw} link add lan0 type veth peer name wan0 netns ${ns}`,
      `ip -n ${gw} addr add ${h.home.gatewayLan}/${h.home.prefix ?? 24} dev lan0 && ip -n ${gw} link set lan0 up`,
      `ip netns exec ${gw} sysctl -qw net.ipv4.ip_forward=1`,
      `ip netns exec ${gw} nft -f - <<'NFT'\n${homeNftables(h.home.blockUdpTo, h.home.symmetricNat)}\nNFT`,
    );
  }
  const r = h.pilot.radio;
  if (r) {
    lines.push(
      `ip -n ${n.radio} link add ${r.port} type veth peer name radio0 netns ${ns}`,
      `ip -n ${n.radio} link set ${r.port} master br0 && ip -n ${n.radio} link set ${r.port} up`,
    );
    if (r.mbit) lines.push(radioRateScript(n.radio, r.port, r.ifb, r.mbit));
  }
  const k = h.pilot.kitchen;
  if (k && h.lan) {
    lines.push(
      `ip -n ${n.kitchen} link add ${k.port} type veth peer name lan0 netns ${ns}`,
      `ip -n ${n.kitchen} link set ${k.port} master br0 && ip -n ${n.kitchen} link set ${k.port} up`,
      `ip netns add ${h.lan.netns} && ip -n ${h.lan.netns} link set lo up`,
      `ip -n ${n.kitchen} link add ${k.devicePort} type veth peer name eth0 netns ${h.lan.netns}`,
      `ip -n ${n.kitchen} link set ${k.devicePort} master br0 && ip -n ${n.kitchen} link set ${k.devicePort} up`,
      `ip -n ${h.lan.netns} addr add ${h.lan.deviceAddress}/${h.lan.prefix} dev eth0 && ip -n ${h.lan.netns} link set eth0 up && ip -n ${h.lan.netns} route add default via ${h.lan.hostAddress}`,
    );
  }
  lines.push(pilotHostAddressesScript(h));
  return lines.join("\n");
}

/**
 * What the lab sets inside the host's own namespace once its links are there: addresses, the default route, a
 * router's br-lan (a bridge cannot change namespace, so a reboot makes it anew) with the installer's port if plugged.
 */
function pilotHostAddressesScript(h: PilotHostPlan): string {
  const ns = q(h.netns);
  const gateway = h.home ? h.home.gatewayLan : INTERNET_ROUTER;
  const prefix = h.home ? (h.home.prefix ?? 24) : 24;
  const lines = [
    `ip -n ${ns} addr add ${h.wanAddress}/${prefix} dev wan0 && ip -n ${ns} link set wan0 up && ip -n ${ns} route add default via ${gateway}`,
  ];
  // The hub's radio address is the lab's wiring (a Debian host; the project does not configure it). A router's radio0
  // only comes up, cabled to its NanoStation and with no address, as on a real router: UCI on the router gives it one
  // (enrollment's radio-port role), netifd applies it, at every boot too.
  const r = h.pilot.radio;
  if (r)
    lines.push(
      r.assigned
        ? `ip -n ${ns} addr add ${r.address}/${r.prefix} dev radio0 && ip -n ${ns} link set radio0 up`
        : `ip -n ${ns} link set radio0 up`,
    );
  if (h.pilot.kitchen && h.lan)
    lines.push(`ip -n ${ns} addr add ${h.lan.hostAddress}/${h.lan.prefix} dev lan0 && ip -n ${ns} link set lan0 up`);
  const l = h.pilot.routerLan;
  if (l) {
    lines.push(
      `ip -n ${ns} link add br-lan type bridge && ip -n ${ns} addr add ${l.address}/${l.prefix} dev br-lan && ip -n ${ns} link set br-lan up`,
      ...INSTALLER_PORTS.map(
        (p) =>
          `if ip -n ${ns} link show ${p} >/dev/null 2>&1; then ip -n ${ns} link set ${p} master br-lan && ip -n ${ns} link set ${p} up; fi`,
      ),
    );
  }
  return lines.join("\n");
}

/** A fresh network namespace for a power cycle: the lab's links parked in a spare one meanwhile (see host.ts). */
export function pilotFreshNetnsScript(h: PilotHostPlan): string {
  const ns = q(h.netns);
  const spare = q(`${h.netns}-x`);
  const links = [...pilotHostLinks(h), ...(h.pilot.routerLan ? INSTALLER_PORTS : [])];
  const move = (from: string, to: string) =>
    links
      .map((l) => `if ip -n ${from} link show ${l} >/dev/null 2>&1; then ip -n ${from} link set ${l} netns ${to}; fi`)
      .join("\n");
  return `set -euo pipefail
ip netns del ${spare} 2>/dev/null || true
ip netns add ${spare}
${move(ns, spare)}
ip netns del ${ns}
ip netns add ${ns}
ip -n ${ns} link set lo up
${move(spare, ns)}
ip netns del ${spare}
${pilotHostAddressesScript(h)}`;
}

/**
 * The radio link's rate, both directions, on its bridge port in the radio namespace: HTB on the port's egress (toward
 * the home: the download) and on an IFB fed from the port's ingress (from the home: the upload), each with a byte fifo
 * of 20 ms at the rate (not the default 1000 packets, which adds seconds of delay; a NanoStation's queue is short).
 */
export function radioRateScript(netns: string, port: string, ifb: string, mbit: number): string {
  const limit = Math.max(64_000, Math.round((mbit * 1e6 * 0.02) / 8));
  const tc = `tc -n ${netns}`;
  const htb = (dev: string) =>
    [
      `${tc} qdisc add dev ${dev} root handle 1: htb default 1`,
      `${tc} class add dev ${dev} parent 1: classid 1:1 htb rate ${mbit}mbit ceil ${mbit}mbit`,
      `${tc} qdisc add dev ${dev} parent 1:1 handle 10: bfifo limit ${limit}`,
    ].join(" && ");
  return [
    htb(port),
    `ip -n ${netns} link add ${ifb} type ifb && ip -n ${netns} link set ${ifb} up`,
    `${tc} qdisc add dev ${port} handle ffff: ingress`,
    `${tc} filter add dev ${port} parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev ${ifb}`,
    htb(ifb),
  ].join("\n");
}

/** Cuts or restores a port (a line on the internet bridge, a link on the radio bridge): run in that namespace. */
export const cutPortCommand = (port: string, cut: boolean) =>
  cut
    ? `nft add element bridge labcut ports '{ "${port}" }'`
    : `nft delete element bridge labcut ports '{ "${port}" }' 2>/dev/null; true`;

/** Plugs installer k's laptop into a router's br-lan (a veth: the router's lan1 for the first, the laptop's eth0). */
export function plugScript(router: PilotHostPlan, laptopNetns: string, k = 0): string {
  const ns = q(router.netns);
  const lap = q(laptopNetns);
  const port = installerPort(k);
  return `set -e
ip -n ${ns} link add ${port} type veth peer name eth0 netns ${lap}
ip -n ${ns} link set ${port} master br-lan && ip -n ${ns} link set ${port} up
ip -n ${lap} addr add ${installerAddress(k)}/${ROUTER_LAN.prefix} dev eth0 && ip -n ${lap} link set eth0 up && ip -n ${lap} route add default via ${ROUTER_LAN.router}`;
}

/** Unplugs the installer's laptop (deleting its end deletes the router's too). */
export const unplugScript = (laptopNetns: string) => `ip -n ${q(laptopNetns)} link del eth0 2>/dev/null; true`;
