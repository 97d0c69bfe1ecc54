// The plays the playbooks are made of, one place for each: which roles run on which group.
import type { Play } from "../lib/play.ts";
import { mergeRecaps, type HostRecap } from "../lib/runner/report.ts";
import type { Session } from "../lib/runner/session.ts";
import type { CertAuthority } from "../roles/nebula/identity.ts";
import type { OpenAuthority, Settled } from "../lib/pki/authority.ts";
import type { ServiceSecrets } from "../lib/secrets/service-secrets.ts";
import { baseRole } from "../roles/base/index.ts";
import { dnsRole } from "../roles/dns/index.ts";
import { dockerRole } from "../roles/docker/index.ts";
import { hubRole } from "../roles/hub/index.ts";
import { monitoringRole } from "../roles/monitoring/index.ts";
import { certificateMonitoringRole } from "../roles/monitoring/certificates.ts";
import { nebulaRole } from "../roles/nebula/index.ts";
import { radioPortRole } from "../roles/radio/index.ts";
import { routingClientRole, routingHubRole, routingUplinkRole } from "../roles/routing/index.ts";
import { shapingRole } from "../roles/shaping/index.ts";
import { sysupgradeRole } from "../roles/sysupgrade/index.ts";

/** `secrets` unlocks the hub's container stack (docker_enabled hubs); without it the stack is left as it is. */
export const hubPlay = (ca: CertAuthority, secrets?: ServiceSecrets): Play => ({
  name: "Deploy the hub",
  hosts: ["hub"],
  roles: [baseRole, nebulaRole(ca), hubRole, dnsRole, dockerRole(secrets), routingHubRole, monitoringRole],
});
export const relayPlay = (ca: CertAuthority): Play => ({
  name: "Deploy relays",
  hosts: ["relays"],
  roles: [baseRole, nebulaRole(ca), monitoringRole],
});
/**
 * Uplinks are OpenWrt routers: the radio port's address before Nebula (which dials the hub's radio address), and the
 * sysupgrade role, last, keeps and restores what the others set up (across firmware upgrades).
 */
export function uplinkPlay(ca: CertAuthority, hosts: string[] = ["uplinks"]): Play {
  const roles = [baseRole, radioPortRole, nebulaRole(ca), shapingRole, routingUplinkRole, monitoringRole];
  return { name: "Set up uplinks", hosts, roles: [...roles, sysupgradeRole(roles)] };
}
/** `hosts`: the clients group, or the one machine an enrollment sets up. */
export const clientPlay = (ca: CertAuthority, hosts: string[] = ["clients"]): Play => ({
  name: "Set up client devices",
  hosts,
  roles: [baseRole, nebulaRole(ca), routingClientRole],
});
/** Last in a playbook, once the CA's register holds every certificate the run issued: the hub's view of when they end. */
export const certificatesPlay = (): Play => ({
  name: "Watch the mesh's certificates",
  hosts: ["hub"],
  roles: [certificateMonitoringRole],
});

/** What a run needs of the CA beyond the roles' view: the register brought up to date once its plays are done. */
export type RunAuthority = CertAuthority & Pick<OpenAuthority, "pending" | "settle">;

/** What the register learnt from the nodes (certificates they carry that it lacked, or had as pending), one line each. */
const registerLines = (settled: Settled[], check = false): string[] =>
  settled.map(({ entry: e, was }) => {
    const cert = `${e.name}'s certificate (${e.fingerprint.slice(0, 16)}..., ends ${e.notAfter.slice(0, 10)})`;
    return was === "missing"
      ? `${check ? "Would add" : "Added"} ${cert} to the CA's register: the node carries it and the register lacked it.`
      : `${check ? "Would confirm" : "Confirmed"} ${cert} in the CA's register: sent by a run cut short, it is on the node.`;
  });

/**
 * The register settled after a session's plays (every certificate they issued written, and those the nodes were found
 * carrying added where it lacked them), its lines logged.
 */
export async function settleRegister(session: Session, ca: RunAuthority, log?: (line: string) => void): Promise<void> {
  const check = !!session.options.check;
  for (const line of registerLines(await ca.settle({ check }), check)) log?.(line);
}

/**
 * What deploy-hub runs: the hub, then relays, uplinks and clients (groups with hosts only), then the certificates'
 * view once every certificate the run issued, and every one a node carries, is registered.
 */
export async function deployMesh(
  session: Session,
  ca: RunAuthority,
  options: { secrets?: ServiceSecrets; hubOnly?: boolean; log?: (line: string) => void } = {},
): Promise<HostRecap[]> {
  const plays = options.hubOnly
    ? [hubPlay(ca, options.secrets)]
    : [hubPlay(ca, options.secrets), relayPlay(ca), uplinkPlay(ca), clientPlay(ca)];
  const recaps: HostRecap[][] = [];
  for (const play of plays)
    if (play.hosts.some((g) => session.inventory.groups[g]?.length)) recaps.push(await session.run(play));
  await settleRegister(session, ca, options.log);
  if (session.inventory.groups.hub?.length) recaps.push(await session.run(certificatesPlay()));
  return mergeRecaps(...recaps);
}
