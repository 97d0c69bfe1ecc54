// Recording rules made from the inventory and the CA's register: uplinks' donated caps, their traffic, certificates' ends.
import { stringify } from "yaml";
import type { Host, Inventory } from "../../lib/inventory/types.ts";
import { mergeVars } from "../../lib/inventory/vars.ts";
import type { IssuedEntry } from "../../lib/pki/ca-store.ts";
import { routingDefaults } from "../routing/defaults.ts";
import { tunnelPair } from "../routing/tunnel.ts";

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

/**
 * An uplink's cap (what its volunteer donated) and the mesh's traffic through it, measured on the hub's end of the
 * routing role's tunnel to it: what the mesh uses, not the volunteer household's own traffic on the same line.
 * Upload is what the hub sends into the tunnel, download what comes back.
 */
function rulesOfUplink(h: Host, hub: Host | undefined, vars: (h: Host) => Record<string, unknown>): RecordingRule[] {
  const bw = (vars(h).bandwidth ?? {}) as { up_mbit?: number; down_mbit?: number };
  const rules: RecordingRule[] = [];
  // A cap of 0 means "not given": no constant series, so the dashboard shows no line rather than a false one.
  if (bw.up_mbit)
    rules.push({
      record: "meshisp_uplink_cap_bits_per_second",
      expr: `vector(${bw.up_mbit * MBIT})`,
      labels: { uplink: h.name, direction: "up" },
    });
  if (bw.down_mbit)
    rules.push({
      record: "meshisp_uplink_cap_bits_per_second",
      expr: `vector(${bw.down_mbit * MBIT})`,
      labels: { uplink: h.name, direction: "down" },
    });
  if (!hub?.meshIp || !h.meshIp) return rules;
  const device = tunnelPair(hub.meshIp, h.meshIp, mergeVars(routingDefaults, vars(hub)) as typeof routingDefaults).hub
    .dev;
  const sel = `{job="node",node=${quote(hub.name)},device=${quote(device)}}`;
  rules.push(
    {
      record: "meshisp_uplink_traffic_bits_per_second",
      expr: `sum(rate(node_network_transmit_bytes_total${sel}[1m])) * 8`,
      labels: { uplink: h.name, direction: "up" },
    },
    {
      record: "meshisp_uplink_traffic_bits_per_second",
      expr: `sum(rate(node_network_receive_bytes_total${sel}[1m])) * 8`,
      labels: { uplink: h.name, direction: "down" },
    },
  );
  return rules;
}

const ruleFile = (source: string, groups: { name: string; rules: RecordingRule[] }[]) =>
  `# Written by community-mesh-isp (role monitoring) from ${source}; do not edit.\n${stringify({ groups: groups.filter((g) => g.rules.length > 0) }, { lineWidth: 0 })}`;

/** Caps and traffic of every uplink, from the inventory: stable for the same inventory, so the file resource says "ok". */
export function uplinkRules(inventory: Inventory, vars: (h: Host) => Record<string, unknown> = (h) => h.vars): string {
  const uplinks = inventory.hosts.filter((h) => h.group === "uplinks").sort((a, b) => a.name.localeCompare(b.name));
  const hub = inventory.hosts.find((h) => h.group === "hub");
  return ruleFile("the inventory", [
    { name: "meshisp-uplink-caps-and-traffic", rules: uplinks.flatMap((h) => rulesOfUplink(h, hub, vars)) },
  ]);
}

/** When each node's certificate (and the CA) ends, from the CA's register; nodes no longer in the inventory left out. */
export function certificateRules(inventory: Inventory, register: CertRegister): string {
  const known = new Set(inventory.hosts.map((h) => h.name));
  const certs: RecordingRule[] = register.issued
    .filter((e) => known.has(e.name))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((e) => ({
      record: "meshisp_nebula_cert_expiry_timestamp_seconds",
      expr: `vector(${seconds(e.notAfter)})`,
      labels: { node: e.name, fingerprint: e.fingerprint.slice(0, 16) },
    }));
  if (register.caNotAfter) {
    certs.push({
      record: "meshisp_nebula_cert_expiry_timestamp_seconds",
      expr: `vector(${seconds(register.caNotAfter)})`,
      labels: { node: "CA", ca: register.caName ?? "mesh CA" },
    });
  }
  return ruleFile("the CA's register of issued certificates", [{ name: "meshisp-certificates", rules: certs }]);
}
