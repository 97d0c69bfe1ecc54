// Enrollment of a member's Debian machine as a mesh client, from the installer's laptop on the machine's home LAN (or
// with the machine brought to the kitchen); each step is safe to repeat, so a re-run finishes the job.
import { readFileSync } from "node:fs";
import { UserError } from "../../lib/errors.ts";
import { addMeshHost } from "../../lib/inventory/edit.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import type { Inventory } from "../../lib/inventory/types.ts";
import { caStoreFor } from "../../lib/pki/passphrase.ts";
import { mergeRecaps, type HostRecap } from "../../lib/runner/report.ts";
import { Session, type SessionOptions } from "../../lib/runner/session.ts";
import { INTERNET_HALVES } from "../../roles/nebula/client-internet.ts";
import { withRunLock } from "../../lib/run-lock.ts";
import { clientPlay, settleRegister, type RunAuthority } from "../plays.ts";
import { changedAnswers, CLIENT_ANSWERS, describeChanges, saveAnswers } from "./answers.ts";
import { describeRouter } from "./checks.ts";
import { clientProblems } from "./client-checks.ts";
import { awaitHubPing, firstContact } from "./contact.ts";
import { installerKeyRole, nebulaLogHint } from "./enroll.ts";

export interface ClientEnrollRequest {
  inventoryFile: string;
  /** Where the installer's laptop reaches the machine: its address on its home LAN (or the kitchen's). */
  address: string;
  port?: number;
  /** Root's password, for the first contact only (then the installer's key is authorized). */
  password?: string;
  /** Node name for a new machine; default client-N. A machine enrolled before keeps its name (by its host key). */
  name?: string;
  member: { name: string; contact: string; location?: string };
  /** Send the machine's internet through the mesh (client_internet_via_mesh) instead of its home line. */
  internetViaMesh: boolean;
}

export interface ClientEnrollResult {
  name: string;
  meshIp: string;
  recaps: HostRecap[];
  /** The machine's internet goes through the mesh from this run on (else: at the kitchen's next deploy, or never). */
  internetNow: boolean;
  /** What was done, for the installer and the member, one line each. */
  summary: string[];
}

/**
 * Whether the hub's certificate (as the CA's register has it) carries the internet's halves: only then does Nebula pass
 * a client's internet to the hub. A client switched over before would lose its internet until the kitchen deploys.
 */
export function hubCarriesInternet(inventory: Inventory): boolean {
  const hub = inventory.hosts.find((h) => h.group === "hub");
  // Every entry of the hub's: one still pending (sent, not known to be there) may not be what the hub carries.
  const entries = caStoreFor(inventory)
    .issued()
    .filter((e) => e.name === hub?.name);
  return entries.length > 0 && entries.every((e) => INTERNET_HALVES.every((s) => e.subnets.includes(s)));
}

/** Enrolls the machine, holding the inventory's run lock beside other enrollments (as enrollUplink does). */
export const enrollClient = (
  req: ClientEnrollRequest,
  ca: RunAuthority,
  log: (line: string) => void,
  options: SessionOptions = {},
): Promise<ClientEnrollResult> =>
  withRunLock(req.inventoryFile, { mode: "shared", command: "tasks/enroll-client.ts", log }, () =>
    enroll(req, ca, log, options),
  );

async function enroll(
  req: ClientEnrollRequest,
  ca: RunAuthority,
  log: (line: string) => void,
  options: SessionOptions,
): Promise<ClientEnrollResult> {
  const inventory = loadInventory(req.inventoryFile);
  if (!inventory.sshKey)
    throw new UserError(`${inventory.file} names no ssh_key: enrollment authorizes that key on the machine`);
  const publicKey = readFileSync(`${inventory.sshKey}.pub`, "utf8").trim();
  const port = req.port ?? 22;

  // 1. Reach the machine where the installer is, learn which node it is (its host key) and check it.
  const { identity, facts } = await firstContact(
    {
      inventoryFile: req.inventoryFile,
      address: req.address,
      port,
      password: req.password,
      name: req.name,
      group: "clients",
      noun: "machine",
    },
    log,
    options,
  );
  log(`Machine: ${describeRouter(facts)}`);
  const problems = clientProblems(facts);
  if (problems.length)
    throw new UserError(`the machine at ${req.address} cannot be a mesh client:\n  - ${problems.join("\n  - ")}`);

  // 2. The node in group clients with the next free client address written out and no address of its own: from now on
  //    the kitchen reaches it at its mesh IP through the hub (the group's ssh_via).
  const { host, added } = await addMeshHost(req.inventoryFile, "clients", identity.name, {
    ...(port !== 22 ? { port } : {}),
    os: facts.os,
    vars: { member: req.member, ...(req.internetViaMesh ? { client_internet_via_mesh: true } : {}) },
  });
  log(`${added ? "Added" : "Found"} ${host.name} in ${req.inventoryFile} with mesh IP ${host.meshIp}`);
  // Enrolled before with another name or contact for the member: this run writes the new ones (and says so).
  const changes = added ? [] : changedAnswers(host.vars, { member: req.member }, CLIENT_ANSWERS);
  if (changes.length) {
    await saveAnswers(req.inventoryFile, host.name, changes);
    log(`${host.name} was enrolled before with other answers; this run changes ${describeChanges(changes)}.`);
  }
  const wants = host.vars.client_internet_via_mesh === true;
  if (!added && wants !== req.internetViaMesh)
    log(
      `NOTICE: the inventory has client_internet_via_mesh: ${wants} for ${host.name} (${host.source}); that is what this run does (change it there)`,
    );

  // 3. Converge this machine only, reached at the address given (the hub is not reachable from here: the hub's Nebula
  //    firewall lets no client in over SSH). Its internet moves into the mesh only once the hub's certificate carries
  //    the internet; else the kitchen's next deploy does both, hub first.
  const fresh = loadInventory(req.inventoryFile);
  const internetNow = wants && hubCarriesInternet(fresh);
  const session = new Session(fresh, {
    ...options,
    reach: { ...options.reach, [host.name]: { address: req.address, port, via: null } },
    passwords: req.password ? { [host.name]: req.password } : undefined,
    extraVars: { ...options.extraVars, ...(wants && !internetNow ? { client_internet_via_mesh: false } : {}) },
  });
  try {
    const recaps: HostRecap[][] = [];
    recaps.push(
      await session.run({
        name: "Authorize the installer's key",
        hosts: [host.name],
        roles: [installerKeyRole(publicKey)],
      }),
    );
    recaps.push(await session.run(clientPlay(ca, [host.name])));
    const failed = recaps.flat().find((r) => r.failed || r.unreachable);
    if (failed)
      throw new UserError(
        `setting up ${host.name} failed: ${failed.error}`,
        "fix what it says, then run the same command again: it continues where it stopped",
      );

    // 4. The tunnel works when the machine pings the hub over the mesh; then the certificate is in the CA's register.
    log(`Waiting for ${host.name} to reach the hub over the mesh...`);
    const hubIp = fresh.hosts.find((h) => h.group === "hub")?.meshIp ?? "10.0.4.1";
    await awaitHubPing(
      await session.connect(fresh.hosts.find((h) => h.name === host.name)!),
      host.name,
      hubIp,
      `check that the machine reaches the internet and that UDP is not blocked; logs: ${nebulaLogHint(facts.os, "nebula-mesh")}`,
    );
    log(`${host.name} reaches the hub at ${hubIp} over the mesh.`);
    await settleRegister(session, ca, log);
    const cert = caStoreFor(fresh)
      .issued()
      .find((e) => e.name === host.name && !e.pending);
    if (!cert)
      throw new UserError(
        `${host.name}'s certificate is not in the CA's register (${caStoreFor(fresh).issuedFile})`,
        "run the same command again",
      );

    const member = fresh.hosts.find((h) => h.name === host.name)!.vars.member as ClientEnrollRequest["member"];
    const summary = [
      `${host.name} (mesh IP ${host.meshIp}) is on the mesh, for ${member.name} (${member.contact}).`,
      `Its Nebula certificate ${cert.fingerprint.slice(0, 16)}... ends ${cert.notAfter.slice(0, 10)}; recorded in ${caStoreFor(fresh).issuedFile}.`,
      !wants
        ? "Its internet stays on the member's own line (client_internet_via_mesh is off)."
        : internetNow
          ? "Its internet goes through the mesh: to the hub, out of the volunteers' uplinks."
          : "Its internet moves onto the mesh with the next run of tasks/deploy-hub.ts from the kitchen (the hub's certificate must carry the internet first); until then it uses the member's own line.",
      `From now on the kitchen manages it at ${host.meshIp} through the hub; the hub's DNS and monitoring learn of it at the next tasks/deploy-hub.ts.`,
    ];
    return { name: host.name, meshIp: host.meshIp!, recaps: mergeRecaps(...recaps), internetNow, summary };
  } finally {
    await session.close();
  }
}
