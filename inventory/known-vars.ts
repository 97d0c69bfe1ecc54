// Every variable an inventory may set, with its type: the roles' defaults (collected from roles/*/defaults.ts, so a
// new default is known the moment a role declares it) and the facts about hosts that the inventory alone states
// (addresses, subnets, the volunteer, the donated bandwidth). lib/inventory/load.ts refuses any other key in `vars`
// with its file:line and the nearest known name: a misspelt `bandwith:` would otherwise drop a volunteer's cap to the
// group default without a word.
import { baseDefaults } from "../roles/base/defaults.ts";
import { dnsDefaults } from "../roles/dns/defaults.ts";
import { dockerDefaults } from "../roles/docker/defaults.ts";
import { monitoringDefaults } from "../roles/monitoring/defaults.ts";
import { nebulaDefaults } from "../roles/nebula/defaults.ts";
import { radioDefaults } from "../roles/radio/defaults.ts";
import { routingDefaults } from "../roles/routing/defaults.ts";
import { shapingDefaults } from "../roles/shaping/defaults.ts";
import { sysupgradeDefaults } from "../roles/sysupgrade/defaults.ts";

export type VarSchema = Record<string, unknown>;

const IPV4 = { $ref: "#/definitions/ipv4" };
const CIDR = { $ref: "#/definitions/cidr" };
const NAME = { $ref: "#/definitions/name" };

/**
 * Donated bandwidth bounds, Mbit/s. Below 0.1 Mbit/s the mesh could not carry even one voice call; above 10 Gbit/s is
 * no home line's, most likely kbit/s written where Mbit/s is meant.
 */
export const BANDWIDTH_MIN_MBIT = 0.1;
export const BANDWIDTH_MAX_MBIT = 10_000;
const mbit = (what: string) => ({
  type: "number",
  minimum: BANDWIDTH_MIN_MBIT,
  maximum: BANDWIDTH_MAX_MBIT,
  description: `${what}, Mbit/s (${BANDWIDTH_MIN_MBIT} to ${BANDWIDTH_MAX_MBIT})`,
});

/** Facts only the inventory states: no role has a default for them. */
const INVENTORY_FACTS: Record<string, VarSchema> = {
  volunteer: {
    type: "object",
    additionalProperties: false,
    required: ["name", "contact"],
    properties: {
      name: { type: "string", minLength: 1, description: "the volunteer's name" },
      contact: { type: "string", minLength: 1, description: "phone or e-mail" },
      location: { type: "string", description: "street address or description" },
    },
  },
  // A mesh client's person (tasks/enroll-client.ts writes it), as `volunteer` is an uplink's.
  member: {
    type: "object",
    additionalProperties: false,
    required: ["name", "contact"],
    properties: {
      name: { type: "string", minLength: 1, description: "the member's name" },
      contact: { type: "string", minLength: 1, description: "phone or e-mail" },
      location: { type: "string", description: "where the machine is" },
    },
  },
  bandwidth: {
    type: "object",
    additionalProperties: false,
    required: ["up_mbit", "down_mbit"],
    description:
      "what the volunteer donates (roles/shaping caps the mesh's traffic to it; the hub weighs its uplinks by it)",
    properties: { up_mbit: mbit("donated upload"), down_mbit: mbit("donated download") },
  },
  ssh_via: { ...NAME, description: "the inventory host to reach this one through (like OpenSSH's ProxyJump)" },
  wan_address: {
    ...IPV4,
    description: "the host's address on its WAN (what others dial when it has no public_address)",
  },
  // Names are allowed (checked as addresses or names by lib/inventory/checks.ts); a client routing its internet through the mesh needs addresses.
  public_address: {
    type: ["string", "null"],
    minLength: 1,
    description: "the address (or DNS name) the internet reaches the host at inbound; null: none (behind CGNAT)",
  },
  nebula_public_address: {
    type: ["string", "null"],
    minLength: 1,
    description: "overrides public_address for Nebula only",
  },
  lan_subnet: {
    ...CIDR,
    description: "the host's LAN (a network address, outside the mesh overlay): the hub routes it for the mesh",
  },
  lan_device: { ...IPV4, description: "the host's own address on its LAN (written by scripts/lab; informational)" },
  radio_address: { ...IPV4, description: "the host's address on the hub's radio segment" },
  radio_subnet: { ...CIDR, description: "the radio segment's network (a network address)" },
  radio_device: { type: "string", minLength: 1, description: "the interface on the radio segment, e.g. radio0" },
  lab: {
    type: "boolean",
    description: "the inventory describes a lab written by scripts/lab (field scripts then cut links in the lab)",
  },
  community_name: {
    type: "string",
    minLength: 1,
    description: "the community's name on the volunteer's reference card (enrollment)",
  },
  support_contact: {
    type: "string",
    minLength: 1,
    description: "who the volunteer calls, on the reference card (enrollment)",
  },
  // The hub role's one default lives in roles/hub/index.ts (the role is a single file).
  hub_state_dir: {
    type: "string",
    minLength: 1,
    description: "where the hub keeps its view of the mesh (uplinks.conf)",
  },
};

/** Role defaults whose type the default value alone does not say (null, a union, a list of records or of addresses). */
const REFINED: Record<string, VarSchema> = {
  routing_backup: {
    type: ["object", "null"],
    additionalProperties: false,
    required: ["device", "gateway"],
    properties: { device: { type: "string", minLength: 1 }, gateway: IPV4, masquerade: { type: "boolean" } },
    description: "the last tier (Starlink): { device, gateway }, or null",
  },
  routing_lan_device: { type: ["string", "null"] },
  routing_probe_target: IPV4,
  routing_client_ranges: { type: "array", items: CIDR },
  routing_uplink_forbidden: { type: "array", items: CIDR },
  nebula_subnets: { type: "array", items: CIDR },
  nebula_unsafe_routes: {
    type: "array",
    items: {
      type: "object",
      additionalProperties: false,
      required: ["route", "via"],
      properties: { route: CIDR, via: IPV4 },
    },
  },
  docker_source: {
    enum: ["debian", "docker"],
    description: "Docker from Debian's packages or from Docker's apt repository",
  },
  docker_extra_publish_addresses: { type: "array", items: IPV4 },
  dns_forwarders: { type: "array", items: IPV4 },
  dns_extra_records: { type: "object", additionalProperties: IPV4 },
};

/** The JSON schema of a default's value, from the value itself. */
function inferred(key: string, value: unknown): VarSchema {
  if (typeof value === "boolean") return { type: "boolean" };
  if (typeof value === "number") {
    if (/_port$/.test(key))
      return { type: "integer", minimum: 0, maximum: 65535, description: "a port number, 0 to 65535" };
    return { type: "number" };
  }
  if (typeof value === "string") return { type: "string" };
  if (Array.isArray(value)) {
    const kinds = [...new Set(value.map((v) => (Number.isInteger(v) ? "integer" : typeof v)))];
    return kinds.length === 1 && ["string", "integer", "number", "boolean"].includes(kinds[0])
      ? { type: "array", items: { type: kinds[0] } }
      : { type: "array" };
  }
  if (value && typeof value === "object") return { type: "object" };
  return {};
}

const ROLE_DEFAULTS: Record<string, Record<string, unknown>> = {
  base: baseDefaults,
  dns: dnsDefaults,
  docker: dockerDefaults,
  monitoring: monitoringDefaults,
  nebula: nebulaDefaults,
  radio: radioDefaults,
  routing: routingDefaults,
  shaping: shapingDefaults,
  sysupgrade: sysupgradeDefaults,
};

/** Every known variable's schema, by name. */
export const KNOWN_VARS: Record<string, VarSchema> = (() => {
  const out: Record<string, VarSchema> = {};
  for (const [role, defaults] of Object.entries(ROLE_DEFAULTS)) {
    for (const [key, value] of Object.entries(defaults))
      out[key] = {
        description: `role ${role}'s default: ${JSON.stringify(value)}`,
        ...inferred(key, value),
        ...(REFINED[key] ?? {}),
      };
  }
  return { ...out, ...INVENTORY_FACTS };
})();

/** The schema of a `vars` mapping (inventory, group or host): known variables only. */
export const VARS_SCHEMA: VarSchema = {
  type: "object",
  description: "Variables; each must be one a role or the inventory reads (inventory/known-vars.ts).",
  properties: KNOWN_VARS,
  additionalProperties: false,
};

/**
 * The groups plays know: the mesh's (tasks/deploy-hub.ts deploys each; admins are maintainers' laptops with mesh IPs)
 * and bench, debian hosts outside the mesh that only tasks/site-base.ts and scripts/bench.ts run on. A host in any
 * other group would be left undeployed without a word: a misspelt group is refused.
 */
export const KNOWN_GROUPS: Record<string, string> = {
  hub: "the hub (exactly one)",
  relays: "Nebula relays on public addresses",
  uplinks: "volunteers' routers",
  clients: "members' devices on the mesh",
  admins: "maintainers' laptops on the mesh",
  bench: "hosts outside the mesh, for the benchmark",
};
