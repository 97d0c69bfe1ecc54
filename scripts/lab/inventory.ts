// The lab's inventory (the project's YAML format) and known_hosts lines built from the lab's own host keys.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { SERVICES_ADDRESS, type HostPlan } from "./plan.ts";
import type { Lab, LabHost } from "./types.ts";

export interface InventoryPaths {
  runId: string;
  sshKeyPath: string;
  knownHostsPath: string;
}

/** Groups in spec order, each host with address, port, user, os and its lab addresses as vars. */
export function inventoryYaml(paths: InventoryPaths, plans: HostPlan[]): string {
  const groups: Record<string, { hosts: Record<string, unknown> }> = {};
  for (const p of plans) {
    if (p.spec.notInInventory) continue;
    const vars: Record<string, unknown> = {
      wan_address: p.wanAddress,
      public_address: p.publicAddress,
      ...(p.lan ? { lan_subnet: p.lan.subnet, lan_device: p.lan.deviceAddress } : {}),
      ...(p.spec.vars ?? {}),
    };
    groups[p.spec.group] ??= { hosts: {} };
    groups[p.spec.group].hosts[p.spec.name] = { address: p.mgmtAddress, port: 22, user: "root", os: p.spec.kind, vars };
  }
  // The lab's opkg feed has no Lua exporter (its image has no Lua): the monitoring role skips it on OpenWrt hosts.
  // Lab traffic never leaves the lab: the failover probe and the DNS forwarders are the simulated internet's services
  // host, not the public resolvers the roles default to.
  const vars = { lab: true, monitoring_openwrt_exporter: false, routing_probe_target: SERVICES_ADDRESS, dns_forwarders: [SERVICES_ADDRESS] };
  const doc = { ssh_key: paths.sshKeyPath, known_hosts: paths.knownHostsPath, vars, groups };
  return `# Lab inventory written by scripts/lab (run ${paths.runId}). Hosts are reached over the lab's management network.\n${YAML.stringify(doc)}`;
}

/** The public host key in the host's own key file (not from the network). */
export function readHostKey(hostDir: string, kind: LabHost["kind"]): string {
  const file = kind === "openwrt" ? "etc/dropbear/dropbear_ed25519_host_key.pub" : "etc/ssh/lab/ssh_host_ed25519_key.pub";
  return readFileSync(join(hostDir, "layer", "upper", file), "utf8").trim().split(" ").slice(0, 2).join(" ");
}

/** known_hosts line for one lab host, as the runner pins it: by node name (never by address), then the key. */
export const hostKnownHostsLine = (host: LabHost): string => `${host.name} ${host.hostKey}\n`;

/** known_hosts lines for every host of a lab (to pre-pin keys in tests). */
export const knownHostsLines = (lab: Lab): string => lab.hosts.map(hostKnownHostsLine).join("");
