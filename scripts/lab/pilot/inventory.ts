// The pilot lab's inventory: the hub at its kitchen-LAN address, every other host at its mesh IP (no `address`) and
// reached through the hub (`ssh_via`), with the facts of the lab's network as vars for the nebula and routing roles.
import YAML from "yaml";
import { SERVICES_ADDRESS } from "../plan.ts";
import type { InventoryPaths } from "../inventory.ts";
import { CGNAT, RADIO_SUBNET, type PilotHostPlan } from "./plan.ts";

/** The vars the lab writes for one host: what its interfaces are, not what to do with them. */
function pilotHostVars(p: PilotHostPlan): Record<string, unknown> {
  const { site, radio, routerLan, kitchen } = p.pilot;
  return {
    wan_address: p.wanAddress,
    // Only a host the internet can reach inbound has a public address: not the hub behind Starlink, not a home.
    ...(site === "public" ? { public_address: p.publicAddress } : {}),
    ...(radio ? { radio_address: radio.address, radio_subnet: RADIO_SUBNET, radio_device: "radio0" } : {}),
    ...(kitchen && p.lan ? { lan_subnet: kitchen.subnet, lan_device: p.lan.deviceAddress } : {}),
    ...(routerLan ? { lan_subnet: routerLan.subnet } : {}),
    // Starlink is the backup tier: the hub's own WAN, through the CGNAT gateway.
    ...(site === "kitchen" ? { routing_backup: { device: "wan0", gateway: CGNAT.gateway } } : {}),
    ...(p.spec.vars ?? {}),
  };
}

export function pilotInventoryYaml(paths: InventoryPaths, plans: PilotHostPlan[]): string {
  const hub = plans.find((p) => p.pilot.site === "kitchen")!;
  const groups: Record<string, { vars?: Record<string, unknown>; hosts: Record<string, unknown> }> = {};
  // Every mesh group is written, empty or not: routers enrolled later land in "uplinks" and must find `ssh_via` there.
  for (const group of ["hub", "relays", "uplinks", "clients"])
    groups[group] = { ...(group === hub.spec.group ? {} : { vars: { ssh_via: hub.spec.name } }), hosts: {} };
  for (const p of plans) {
    if (p.spec.notInInventory) continue;
    const isHub = p === hub;
    groups[p.spec.group] ??= { ...(isHub ? {} : { vars: { ssh_via: hub.spec.name } }), hosts: {} };
    groups[p.spec.group].hosts[p.spec.name] = {
      // The maintainer at the kitchen reaches the hub on its LAN; everyone else only over the mesh, through the hub. A
      // rented server is the exception: before its first deploy it is on no mesh, so the hub reaches it at its public
      // address (over the hub's own WAN), as anyone reaches a rented server.
      ...(isHub ? { address: p.lan!.hostAddress } : p.pilot.site === "public" ? { address: p.publicAddress } : {}),
      port: 22,
      user: "root",
      os: p.spec.kind,
      ...(p.pilot.meshIp ? { mesh_ip: p.pilot.meshIp } : {}),
      vars: pilotHostVars(p),
    };
  }
  // As in the internet topology (inventory.ts): no Lua exporter in the lab's feed, lab traffic stays in the lab.
  const vars = {
    lab: true,
    monitoring_openwrt_exporter: false,
    routing_probe_target: SERVICES_ADDRESS,
    dns_forwarders: [SERVICES_ADDRESS],
  };
  const doc = { ssh_key: paths.sshKeyPath, known_hosts: paths.knownHostsPath, vars, groups };
  return `# Lab inventory written by scripts/lab (run ${paths.runId}, topology pilot). The hub is reached on the kitchen LAN (run the\n# runner in the kitchen laptop's namespace), every other host at its mesh IP through the hub.\n${YAML.stringify(doc)}`;
}
