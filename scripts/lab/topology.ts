// The lab's default topology (the pilot in miniature) and the command line's compact host spec.
import { existsSync, readFileSync } from "node:fs";
import type { LabHostSpec } from "./types.ts";

/**
 * A hub with a LAN, a relay, three uplinks (two behind home NAT, one of them with UDP to the hub blocked), a client.
 * The uplinks imitate both OpenWrt releases the project serves (23.05 and 24.10), so every run covers both.
 */
export const DEFAULT_TOPOLOGY: LabHostSpec[] = [
  // The lab's "distant target" is its services host; the hub's own WAN stands in for Starlink (the backup tier).
  {
    name: "hub",
    kind: "debian",
    group: "hub",
    lan: { subnet: "10.42.0.0/24" },
    vars: { routing_probe_target: "198.51.100.10", routing_backup: { device: "wan0", gateway: "203.0.113.1" } },
  },
  { name: "relay", kind: "debian", group: "relays" },
  {
    name: "uplink-1",
    kind: "openwrt",
    release: "23.05",
    group: "uplinks",
    vars: { bandwidth: { up_mbit: 20, down_mbit: 100 } },
  },
  {
    name: "uplink-2",
    kind: "openwrt",
    release: "24.10",
    group: "uplinks",
    home: {},
    vars: { bandwidth: { up_mbit: 5, down_mbit: 20 } },
  },
  {
    name: "uplink-3",
    kind: "openwrt",
    release: "24.10",
    group: "uplinks",
    home: { blockUdpTo: ["hub"] },
    vars: { bandwidth: { up_mbit: 2, down_mbit: 5 } },
  },
  { name: "client-1", kind: "debian", group: "clients", home: {} },
];

/**
 * The pilot's network in miniature (topology "pilot", see PilotSite): the hub in the kitchen behind Starlink-like CGNAT,
 * the relay on a public address (a rented server, lighthouse too), uplink-1 (23.05) and uplink-2 (24.10) at homes on
 * the radio backhaul, uplink-3 at a remote home (no radio: it reaches the hub only over the internet, through the
 * relay), and client-1 on a member's home network elsewhere (behind its home NAT, over the internet). Caps as
 * DEFAULT_TOPOLOGY's; routing_backup (Starlink, the hub's wan0) is written by the lab.
 */
export const PILOT_TOPOLOGY: LabHostSpec[] = [
  { name: "hub", kind: "debian", group: "hub", site: "kitchen", vars: { routing_probe_target: "198.51.100.10" } },
  { name: "relay", kind: "debian", group: "relays", site: "public" },
  {
    name: "uplink-1",
    kind: "openwrt",
    release: "23.05",
    group: "uplinks",
    site: "home",
    vars: { bandwidth: { up_mbit: 20, down_mbit: 40 } },
  },
  {
    name: "uplink-2",
    kind: "openwrt",
    release: "24.10",
    group: "uplinks",
    site: "home",
    vars: { bandwidth: { up_mbit: 5, down_mbit: 20 } },
  },
  {
    name: "uplink-3",
    kind: "openwrt",
    release: "24.10",
    group: "uplinks",
    site: "remote",
    vars: { bandwidth: { up_mbit: 2, down_mbit: 5 } },
  },
  { name: "client-1", kind: "debian", group: "clients", site: "remote" },
];

/** N debian hosts in group "bench" (bench-1 ... bench-N). */
export const benchTopology = (n: number): LabHostSpec[] =>
  Array.from({ length: n }, (_, i) => ({ name: `bench-${i + 1}`, kind: "debian", group: "bench" }));

export const HOSTS_SPEC_HELP = `--hosts takes a JSON file (an array of host specs, or {"hosts": [...]}) or a compact list:
  name:kind:group[:home][:symmetric][:block=HOST_OR_IP+...][:lan=SUBNET][:password=PW][:release=23.05|24.10]
  [:site=kitchen|home|remote|public][:radio=MBIT] (site and radio: --topology pilot only), comma-separated, e.g.
  --hosts hub:debian:hub:lan=10.42.0.0/24,up1:openwrt:uplinks:home:block=hub:release=23.05`;

/** Parses `--hosts`: a JSON file or the compact form of HOSTS_SPEC_HELP. */
export function parseHostsSpec(text: string): LabHostSpec[] {
  if (existsSync(text)) {
    const doc = JSON.parse(readFileSync(text, "utf8")) as LabHostSpec[] | { hosts: LabHostSpec[] };
    return Array.isArray(doc) ? doc : doc.hosts;
  }
  return text.split(",").map((entry) => {
    const [name, kind, group, ...options] = entry.split(":");
    if (!name || !kind || !group)
      throw new Error(`--hosts entry ${JSON.stringify(entry)}: expected name:kind:group\n${HOSTS_SPEC_HELP}`);
    const host: LabHostSpec = { name, kind: kind as LabHostSpec["kind"], group };
    for (const option of options) {
      const [key, value = ""] = option.split("=");
      if (key === "home") host.home ??= {};
      else if (key === "symmetric") host.home = { ...host.home, symmetricNat: true };
      else if (key === "block") host.home = { ...host.home, blockUdpTo: value.split("+").filter(Boolean) };
      else if (key === "lan") host.lan = { subnet: value };
      else if (key === "password") host.password = value;
      else if (key === "release")
        host.release = value as LabHostSpec["release"]; // planLab checks it
      else if (key === "site")
        host.site = value as LabHostSpec["site"]; // planPilot checks it
      else if (key === "radio") host.radioMbit = Number(value);
      else
        throw new Error(
          `--hosts entry ${JSON.stringify(entry)}: unknown option ${JSON.stringify(key)}\n${HOSTS_SPEC_HELP}`,
        );
    }
    return host;
  });
}
