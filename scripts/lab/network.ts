// Shell scripts that wire the lab's networks: the management bridge, the simulated internet, a host's links, homes, LANs.
// Only the management bridge lives in the root namespace (an address, no route beyond its own /24, no forwarding);
// everything that routes or translates runs in a namespace the lab created.
import { INTERNET_ROUTER, SERVICES_ADDRESS, SERVICES_ROUTER, type HostPlan } from "./plan.ts";

export interface CoreNames {
  bridge: string;
  internet: string;
  services: string;
  servicesLink: string;
}

export const coreNames = (runId: string): CoreNames => ({
  bridge: `${runId}br`,
  internet: `${runId}-inet`,
  services: `${runId}-svc`,
  servicesLink: `${runId}s0`,
});

/** The management bridge (ports isolated from each other), the internet router and the internet services namespace. */
export function coreScript(slot: number, n: CoreNames): string {
  return `set -e
ip link add ${n.bridge} type bridge && ip addr add 198.18.${slot}.1/24 dev ${n.bridge} && ip link set ${n.bridge} up
ip netns add ${n.internet} && ip netns add ${n.services}
ip -n ${n.internet} link set lo up && ip -n ${n.services} link set lo up
ip -n ${n.internet} link add br0 type bridge && ip -n ${n.internet} addr add ${INTERNET_ROUTER}/24 dev br0 && ip -n ${n.internet} link set br0 up
ip netns exec ${n.internet} sysctl -qw net.ipv4.ip_forward=1
ip link add ${n.servicesLink} netns ${n.internet} type veth peer name eth0 netns ${n.services}
ip -n ${n.internet} link set ${n.servicesLink} name svc0 && ip -n ${n.internet} addr add ${SERVICES_ROUTER}/24 dev svc0 && ip -n ${n.internet} link set svc0 up
ip -n ${n.services} addr add ${SERVICES_ADDRESS}/24 dev eth0 && ip -n ${n.services} link set eth0 up && ip -n ${n.services} route add default via ${SERVICES_ROUTER}`;
}

/** A host's namespace and links: management, WAN (to the internet or to its home gateway), optional LAN device. */
export function hostNetworkScript(h: HostPlan, n: CoreNames): string {
  const ns = h.netns;
  const lines = [
    `ip netns add ${ns}`,
    `ip -n ${ns} link set lo up`,
    `ip link add ${h.links.mgmt} type veth peer name mgmt0 netns ${ns}`,
    `ip link set ${h.links.mgmt} master ${n.bridge} && bridge link set dev ${h.links.mgmt} isolated on && ip link set ${h.links.mgmt} up`,
    `ip -n ${ns} addr add ${h.mgmtAddress}/24 dev mgmt0 && ip -n ${ns} link set mgmt0 up`,
  ];
  // The internet side: the host itself, or its home gateway.
  const edge = h.home ? h.home.netns : ns;
  if (h.home) lines.push(`ip netns add ${edge}`, `ip -n ${edge} link set lo up`);
  lines.push(
    `ip link add ${h.links.wan} netns ${n.internet} type veth peer name wan0 netns ${edge}`,
    `ip -n ${n.internet} link set ${h.links.wan} master br0 && ip -n ${n.internet} link set ${h.links.wan} up`,
    `ip -n ${edge} addr add ${h.publicAddress}/24 dev wan0 && ip -n ${edge} link set wan0 up && ip -n ${edge} route add default via ${INTERNET_ROUTER}`,
  );
  if (h.home) {
    const gw = h.home.netns;
    lines.push(
      `ip link add ${h.links.home} netns ${gw} type veth peer name wan0 netns ${ns}`,
      `ip -n ${gw} link set ${h.links.home} name lan0 && ip -n ${gw} addr add ${h.home.gatewayLan}/24 dev lan0 && ip -n ${gw} link set lan0 up`,
      `ip -n ${ns} addr add ${h.wanAddress}/24 dev wan0 && ip -n ${ns} link set wan0 up && ip -n ${ns} route add default via ${h.home.gatewayLan}`,
      `ip netns exec ${gw} sysctl -qw net.ipv4.ip_forward=1`,
      `ip netns exec ${gw} nft -f - <<'NFT'\n${homeNftables(h.home.blockUdpTo, h.home.symmetricNat)}\nNFT`,
    );
  }
  if (h.lan) {
    const l = h.lan;
    lines.push(
      `ip netns add ${l.netns} && ip -n ${l.netns} link set lo up`,
      `ip link add ${h.links.lan} netns ${ns} type veth peer name eth0 netns ${l.netns}`,
      `ip -n ${ns} link set ${h.links.lan} name lan0 && ip -n ${ns} addr add ${l.hostAddress}/${l.prefix} dev lan0 && ip -n ${ns} link set lan0 up`,
      `ip -n ${l.netns} addr add ${l.deviceAddress}/${l.prefix} dev eth0 && ip -n ${l.netns} link set eth0 up && ip -n ${l.netns} route add default via ${l.hostAddress}`,
    );
  }
  return lines.join("\n");
}

/** A home router: masquerade out of wan0, nothing in from the internet but replies, optional UDP blocks. */
export function homeNftables(blockUdpTo: string[], symmetricNat: boolean): string {
  return `table ip home {
  chain postrouting { type nat hook postrouting priority srcnat; oifname "wan0" masquerade${symmetricNat ? " fully-random" : ""}; }
  chain forward {
    type filter hook forward priority filter; policy accept;
${blockUdpTo.map((a) => `    ip daddr ${a} meta l4proto udp drop`).join("\n")}
    iifname "wan0" ct state established,related accept
    iifname "wan0" drop
  }
}`;
}
