// Recording rules made from the inventory and the CA's register: uplinks' donated caps, their traffic, certificates' ends.
import { stringify } from "yaml";
import type { Host, Inventory } from "../../lib/inventory/types.ts";
import type { IssuedEntry } from "../../lib/pki/ca-store.ts";
import { monitoringDefaults } from "./defaults.ts";

interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}

const MBIT = 1_000_000;
const quote = (v: string) => JSON.stringify(v);
const seconds = (iso: string | Date) => Math.floor(new Date(iso).getTime() / 1000);

/** What the CA knows: each node's current certificate and the CA's own end (Nebula 1.6 exports neither). */
export interface CertRegister {
  issued: IssuedEntry[];
  caName?: string;
  caNotAfter?: Date;
}

function uplinkRules(h: Host): RecordingRule[] {
  const bw = (h.vars.bandwidth ?? {}) as { up_mbit?: number; down_mbit?: number };
  const device = (h.vars.monitoring_wan_device as string | undefined) ?? monitoringDefaults.monitoring_wan_device;
  const sel = `{job="node",node=${quote(h.name)},device=${quote(device)}}`;
  const rules: RecordingRule[] = [];
  // A cap of 0 means "not given": no constant series, so the dashboard shows no line rather than a false one.
  if (bw.up_mbit) rules.push({ record: "meshisp_uplink_cap_bits_per_second", expr: `vector(${bw.up_mbit * MBIT})`, labels: { uplink: h.name, direction: "up" } });
  if (bw.down_mbit) rules.push({ record: "meshisp_uplink_cap_bits_per_second", expr: `vector(${bw.down_mbit * MBIT})`, labels: { uplink: h.name, direction: "down" } });
  rules.push(
    { record: "meshisp_uplink_traffic_bits_per_second", expr: `sum(rate(node_network_transmit_bytes_total${sel}[2m])) * 8`, labels: { uplink: h.name, direction: "up" } },
    { record: "meshisp_uplink_traffic_bits_per_second", expr: `sum(rate(node_network_receive_bytes_total${sel}[2m])) * 8`, labels: { uplink: h.name, direction: "down" } },
  );
  return rules;
}

/** The rule file's YAML; stable for the same inventory and register, so the file resource reports "ok". */
export function inventoryRules(inventory: Inventory, register: CertRegister): string {
  const uplinks = inventory.hosts.filter((h) => h.group === "uplinks").sort((a, b) => a.name.localeCompare(b.name));
  const known = new Set(inventory.hosts.map((h) => h.name));
  const certs: RecordingRule[] = register.issued
    .filter((e) => known.has(e.name))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((e) => ({ record: "meshisp_nebula_cert_expiry_timestamp_seconds", expr: `vector(${seconds(e.notAfter)})`, labels: { node: e.name, fingerprint: e.fingerprint.slice(0, 16) } }));
  if (register.caNotAfter) {
    certs.push({ record: "meshisp_nebula_cert_expiry_timestamp_seconds", expr: `vector(${seconds(register.caNotAfter)})`, labels: { node: "CA", ca: register.caName ?? "mesh CA" } });
  }
  const groups = [
    { name: "meshisp-uplink-caps-and-traffic", rules: uplinks.flatMap(uplinkRules) },
    { name: "meshisp-certificates", rules: certs },
  ].filter((g) => g.rules.length > 0);
  return `# Written by community-mesh-isp (role monitoring) from the inventory and the CA's register; do not edit.\n${stringify({ groups }, { lineWidth: 0 })}`;
}
