// Which of the stack's services a hub declares, how each runs (compose or native) and where it answers on the hub.
import { UserError } from "../../lib/errors.ts";
import type { Host, Inventory } from "../../lib/inventory/types.ts";
import { mergeVars } from "../../lib/inventory/vars.ts";
import type { HostContext } from "../../lib/play.ts";
import { dnsDefaults } from "../../roles/dns/defaults.ts";
import { dnsRecords, dnsVarsOf, hubAddresses } from "../../roles/dns/records.ts";
import type { DockerVars } from "../../roles/docker/compose.ts";
import { dockerDefaults } from "../../roles/docker/defaults.ts";
import type { StackService } from "../../roles/docker/stack-types.ts";

export interface DeclaredService {
  name: string;
  runner: "compose" | "native";
  spec: StackService;
  /** Where the probe connects on the hub. */
  address: string;
}

export interface HubDeclaration {
  hub: Host;
  vars: DockerVars & typeof dnsDefaults & Record<string, unknown>;
  mesh: string;
  lan?: string;
  services: DeclaredService[];
  /** What the DNS cache must answer: name -> address, per listening address. */
  dnsExpectations: { server: string; name: string; address: string }[];
}

/** Reads the hub's declaration from the inventory (role defaults < inventory vars < -e), as the roles would see it. */
export function declaredOnHub(
  inventory: Inventory,
  extraVars: Record<string, unknown>,
  hubName?: string,
): HubDeclaration {
  const hubs = inventory.hosts.filter((h) => h.group === "hub");
  const hub = hubName ? inventory.hosts.find((h) => h.name === hubName) : hubs[0];
  if (!hub)
    throw new UserError(
      hubName ? `no host ${hubName} in ${inventory.file}` : `no hub in ${inventory.file}`,
      'the hub is the host in group "hub"',
    );
  const vars = mergeVars(dnsDefaults, dockerDefaults, hub.vars, extraVars) as HubDeclaration["vars"];
  const ctx = { host: hub, os: "debian", vars, inventory } as unknown as HostContext;
  const { mesh, lan } = hubAddresses(ctx);
  const compose = vars.docker_enabled === true;
  const names = compose ? Object.keys(vars.docker_services) : vars.docker_native_services;
  const services = names.map((name): DeclaredService => {
    const spec = vars.docker_services[name];
    if (!spec)
      throw new UserError(`${hub.name} declares "${name}", which is not a service of the stack (docker_services)`);
    const on = spec.hostNetwork ? "mesh" : (spec.publish ?? ["mesh"])[0];
    const address = on === "mesh" ? mesh : on === "lan" ? (lan ?? mesh) : on === "loopback" ? "127.0.0.1" : on;
    return { name, runner: compose ? "compose" : "native", spec, address };
  });
  const dnsVars = dnsVarsOf(ctx);
  const servers = [mesh, ...(lan ? [lan] : [])];
  // A service name answers with the hub's address on the side the query came from; a node name, with its mesh IP.
  const local = new Set(dnsVars.dns_service_names.map((n) => `${n}.${dnsVars.dns_domain}`));
  const dnsExpectations = servers.flatMap((server) =>
    [...new Map(dnsRecords(ctx).map((r) => [r.name, r])).values()].map((r) => ({
      server,
      name: r.name,
      address: local.has(r.name) ? server : r.address,
    })),
  );
  return { hub, vars, mesh, lan, services, dnsExpectations };
}
