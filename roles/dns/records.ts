// What the hub's DNS cache answers and where it listens, computed from the inventory: rendered for both runners.
import type { HostContext } from "../../lib/play.ts";
import { UserError } from "../../lib/errors.ts";
import { parseCidr, uintToIp } from "../../lib/pki/cidr.ts";
import { mergeVars } from "../../lib/inventory/vars.ts";
import { renderTemplate } from "../../lib/template.ts";
import { dnsDefaults, dnsOsVars } from "./defaults.ts";

export type DnsVars = typeof dnsDefaults & typeof dnsOsVars;

/** The dns role's vars for a host, also when another role (docker) asks: defaults under the host's vars. */
export const dnsVarsOf = (ctx: HostContext): DnsVars => ({
  ...(mergeVars(dnsDefaults, ctx.vars) as DnsVars),
  ...dnsOsVars,
});

/** The first usable address of an IPv4 subnet: 10.42.0.0/24 -> 10.42.0.1. */
export function firstAddress(subnet: string): string {
  const { ip, mask } = parseCidr(subnet, "lan_subnet");
  return uintToIp((((ip & mask) >>> 0) + 1) >>> 0);
}

/** The hub's addresses: its mesh IP, and its LAN address when it has a LAN. */
export function hubAddresses(ctx: HostContext): { mesh: string; lan?: string } {
  const mesh = ctx.host.meshIp;
  if (!mesh) throw new UserError(`${ctx.host.name} (${ctx.host.source}) has no mesh IP: the DNS cache runs on the hub`);
  const v = dnsVarsOf(ctx);
  const lan =
    v.dns_lan_address || (typeof ctx.vars.lan_subnet === "string" ? firstAddress(ctx.vars.lan_subnet) : undefined);
  return { mesh, ...(lan ? { lan } : {}) };
}

export interface DnsRecord {
  name: string;
  address: string;
}

/** Local records: the hub's services on each of its addresses (the side of the query picks one), and every mesh node. */
export function dnsRecords(ctx: HostContext): DnsRecord[] {
  const v = dnsVarsOf(ctx);
  const { mesh, lan } = hubAddresses(ctx);
  const fqdn = (name: string) => `${name}.${v.dns_domain}`;
  const records: DnsRecord[] = [];
  for (const name of v.dns_service_names)
    for (const address of [mesh, lan].filter(Boolean) as string[]) records.push({ name: fqdn(name), address });
  for (const h of ctx.inventory.hosts)
    if (h.meshIp && h !== ctx.host) records.push({ name: fqdn(h.name), address: h.meshIp });
  if (!v.dns_service_names.includes(ctx.host.name)) records.push({ name: fqdn(ctx.host.name), address: mesh });
  for (const [name, address] of Object.entries(v.dns_extra_records))
    records.push({ name: name.includes(".") ? name : fqdn(name), address });
  return records;
}

/** The two files both runners read: dnsmasq.conf and mesh.hosts. */
export function renderDnsFiles(ctx: HostContext): { conf: string; hosts: string; dir: string } {
  const v = dnsVarsOf(ctx);
  const { mesh, lan } = hubAddresses(ctx);
  const listen = [mesh, ...(lan ? [lan] : []), ...(v.dns_listen_loopback ? ["127.0.0.1"] : [])];
  const vars = { ...v, listen, hosts_file: `${v.dns_dir}/mesh.hosts`, records: dnsRecords(ctx) };
  return {
    dir: v.dns_dir,
    conf: renderTemplate("dns/dnsmasq.conf.hbs", vars),
    hosts: renderTemplate("dns/mesh.hosts.hbs", vars),
  };
}
