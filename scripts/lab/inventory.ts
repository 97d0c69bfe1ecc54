// The lab's inventory (the project's YAML format).
import YAML from "yaml";
import { SERVICES_ADDRESS, type HostPlan } from "./plan.ts";

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
  const vars = {
    lab: true,
    monitoring_openwrt_exporter: false,
    routing_probe_target: SERVICES_ADDRESS,
    dns_forwarders: [SERVICES_ADDRESS],
  };
  const doc = { ssh_key: paths.sshKeyPath, known_hosts: paths.knownHostsPath, vars, groups };
  return `# Lab inventory written by scripts/lab (run ${paths.runId}). Hosts are reached over the lab's management network.\n${YAML.stringify(doc)}`;
}
