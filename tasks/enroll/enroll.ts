// A field installer's enrollment of a volunteer's router, step by step; each step is safe to repeat, so a re-run finishes the job.
import { readFileSync } from "node:fs";
import { raw, sh } from "../../lib/command.ts";
import { UserError } from "../../lib/errors.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import type { Role } from "../../lib/play.ts";
import { directory } from "../../lib/resources/directory.ts";
import { lineInFile } from "../../lib/resources/line.ts";
import { mergeRecaps, type HostRecap } from "../../lib/runner/report.ts";
import { Session, type ReachOverride, type SessionOptions } from "../../lib/runner/session.ts";
import { withLock } from "../../lib/lock.ts";
import { withRunLock } from "../../lib/run-lock.ts";
import { renderTemplate } from "../../lib/template.ts";
import type { Transport } from "../../lib/transport/types.ts";
import { certificatesPlay, hubPlay, settleRegister, uplinkPlay, type RunAuthority } from "../plays.ts";
import { changedAnswers, describeChanges, saveAnswers, UPLINK_ANSWERS } from "./answers.ts";
import { describeRouter, routerProblems } from "./checks.ts";
import { awaitHubPing, firstContact } from "./contact.ts";
import { addUplinkWithRadio, decideRadioPort, syncRadioVars, type RadioChoice } from "./radio.ts";

export interface EnrollRequest {
  inventoryFile: string;
  /** Where the installer's laptop reaches the router: its LAN address (GL.iNet 192.168.8.1, stock OpenWrt 192.168.1.1). */
  address: string;
  port?: number;
  /** The router's root password, for the first contact only (then the installer's key is authorized). */
  password?: string;
  /**
   * Asked only when the router has no root password (a fresh OpenWrt image lets root in over SSH and LuCI with none):
   * the password to set, or undefined to leave it blank (enrollment then warns). Never logged.
   */
  askNewPassword?: () => Promise<string | undefined>;
  /**
   * Node name for a new router; default uplink-N with the lowest free N. A router enrolled before is recognised by its
   * host key (its name and mesh IP stay); a name that is another router's is refused.
   */
  name?: string;
  volunteer: { name: string; contact: string; location?: string };
  bandwidth: { up_mbit: number; down_mbit: number };
  /** --radio-port / --no-radio; without either the port cabled to the NanoStation is found (tasks/enroll/radio.ts). */
  radio?: RadioChoice;
}

export interface EnrollResult {
  name: string;
  meshIp: string;
  recaps: HostRecap[];
  card: string;
  hubUpdated: boolean;
  /** The router still has no root password (none was given to set). */
  blankRootPassword: boolean;
}

/**
 * Authorizes the installer's public key where the host's SSH server reads root's keys: OpenWrt's dropbear only reads
 * /etc/dropbear/authorized_keys for root (never /root/.ssh, which a sysupgrade also loses), and refuses it when the
 * file or its directory is writable by group or others; OpenSSH on Debian reads ~/.ssh.
 */
export const authorizedKeysOf = (os: string): { dir: string; file: string } =>
  os === "openwrt"
    ? { dir: "/etc/dropbear", file: "/etc/dropbear/authorized_keys" }
    : { dir: "/root/.ssh", file: "/root/.ssh/authorized_keys" };

/** The installer's key authorized for root (enrollment's first change on a host: later runs get in by key). */
export const installerKeyRole = (publicKey: string): Role => ({
  name: "installer-key",
  defaults: {},
  tasks: (ctx) => {
    const keys = authorizedKeysOf(ctx.os);
    return [
      directory({ path: keys.dir, mode: "0700" }),
      lineInFile({ path: keys.file, line: publicKey, mode: "0600" }),
    ];
  },
});

/**
 * Where a router's logs are: OpenWrt has no /var/log files, its syslog is in logd's ring buffer. procd tags a service's
 * output with its program's name (nebula[PID]) and its own lines name the service (nebula-mesh): `-e nebula` finds both.
 */
export const nebulaLogHint = (os: string, service: string): string =>
  os === "openwrt" ? "logread -e nebula" : `journalctl -u ${service}`;

/** How long an enrollment waits for another one's hub update (the hub's whole play, through a router, on a slow link). */
const HUB_LOCK_WAIT_MS = 10 * 60_000;

/** What the installer is told when a router is left with no root password. */
export const BLANK_PASSWORD_WARNING =
  "WARNING: the router has no root password: anyone on the volunteer's network can log in as root (SSH and the web interface) and take the node off the mesh. " +
  "Set one: run the same command again with --set-password, or log in and run passwd.";

/** Sets root's password through BusyBox passwd, the password on stdin (twice, as passwd asks), never on a command line. */
async function setRootPassword(transport: Transport, password: string): Promise<void> {
  if (/[\n\r]/.test(password)) throw new UserError("the new root password cannot contain a line break");
  const out = await transport.run(sh`passwd root`, { stdin: `${password}\n${password}\n` });
  const check = await transport.run(raw(`awk -F: '$1 == "root" { print ($2 == "" ? "blank" : "set") }' /etc/shadow`));
  if (out.code !== 0 || check.stdout.trim() !== "set")
    throw new UserError(
      `could not set the router's root password (passwd exited ${out.code}: ${out.stderr.trim() || out.stdout.trim()})`,
      "log in to the router and run passwd, then run the same command again",
    );
}

/**
 * Enrolls the router, holding the inventory's run lock beside other enrollments (lib/run-lock.ts): a playbook run
 * against the same inventory waits for it, and it for a playbook.
 */
export const enrollUplink = (
  req: EnrollRequest,
  ca: RunAuthority,
  log: (line: string) => void,
  options: SessionOptions = {},
): Promise<EnrollResult> =>
  withRunLock(req.inventoryFile, { mode: "shared", command: "tasks/enroll-uplink.ts", log }, () =>
    enroll(req, ca, log, options),
  );

async function enroll(
  req: EnrollRequest,
  ca: RunAuthority,
  log: (line: string) => void,
  options: SessionOptions,
): Promise<EnrollResult> {
  const inventory = loadInventory(req.inventoryFile);
  if (!inventory.sshKey)
    throw new UserError(`${inventory.file} names no ssh_key: enrollment authorizes that key on the router`);
  const publicKey = readFileSync(`${inventory.sshKey}.pub`, "utf8").trim();
  const port = req.port ?? 22;

  // 1. Reach the router at the address the installer gave (its LAN: the laptop is plugged into it) and check it before
  //    anything changes; which node it is comes from its host key (tasks/enroll/contact.ts).
  const { identity, facts } = await firstContact(
    {
      inventoryFile: req.inventoryFile,
      address: req.address,
      port,
      password: req.password,
      name: req.name,
      group: "uplinks",
      noun: "router",
    },
    log,
    options,
  );
  const name = identity.name;
  log(`Router: ${describeRouter(facts)}`);
  const problems = routerProblems(facts);
  if (problems.length)
    throw new UserError(`the router at ${req.address} is not ready:\n  - ${problems.join("\n  - ")}`);
  // Which port is the radio's, decided (or refused) before anything changes.
  const radioPort = decideRadioPort({
    ports: facts.ports,
    choice: req.radio ?? {},
    hubSubnet: inventory.hosts.find((h) => h.group === "hub")?.vars.radio_subnet,
    known: inventory.hosts.find((h) => h.name === name)?.vars,
  });
  // Asked before anything changes, so the installer answers every question at the start.
  const newPassword = facts.blankRootPassword ? await req.askNewPassword?.() : undefined;
  if (facts.blankRootPassword && !newPassword) log(BLANK_PASSWORD_WARNING);

  // 2. The node in the inventory, with the next free uplink address written out (under a lock: enrollments may run at
  //    once), and no address: from now on it is managed at its mesh IP (the inventory's ssh_via says through which host).
  //    The radio port's address is allocated under the same lock (the next free one of the hub's radio_subnet).
  const { host, added } = await addUplinkWithRadio(
    req.inventoryFile,
    name,
    { ...(port !== 22 ? { port } : {}), os: facts.os, vars: { volunteer: req.volunteer, bandwidth: req.bandwidth } },
    radioPort.device,
  );
  log(`${added ? "Added" : "Found"} ${host.name} in ${req.inventoryFile} with mesh IP ${host.meshIp}`);
  // Enrolled before with other answers: this run applies the new ones (the inventory now, the router and the hub from
  // it below, the card from it at the end), and says what changes.
  const changes = added
    ? []
    : changedAnswers(host.vars, { volunteer: req.volunteer, bandwidth: req.bandwidth }, UPLINK_ANSWERS);
  if (changes.length) {
    await saveAnswers(req.inventoryFile, host.name, changes);
    log(
      `${host.name} was enrolled before with other answers; this run changes ${describeChanges(changes)} (in ${req.inventoryFile}, then on the router and the hub).`,
    );
  }
  const radio = added
    ? host.vars.radio_device
      ? host.vars
      : null
    : await syncRadioVars(req.inventoryFile, host.name, radioPort.device);
  log(
    radio
      ? `Radio: ${radioPort.why} It gets ${String(radio.radio_address)} on the hub's radio (${String(radio.radio_subnet)}): the tunnel rides the radio.`
      : `Radio: ${radioPort.why}`,
  );

  // 3. Converge: the installer's key, then the base and nebula roles; then the hub learns of the new uplink.
  //    This session reaches the router where the installer is (its LAN address, directly), and the hub through the
  //    router over the mesh: a laptop at a volunteer's home has no path to the hub's kitchen address.
  const fresh = loadInventory(req.inventoryFile);
  const hub = fresh.hosts.find((h) => h.group === "hub");
  const reach: Record<string, ReachOverride> = {
    ...options.reach,
    [host.name]: { address: req.address, port, via: null },
  };
  if (hub?.meshIp) reach[hub.name] = { address: hub.meshIp, port: hub.port, via: host.name };
  const session = new Session(fresh, {
    ...options,
    reach,
    passwords: req.password ? { [host.name]: req.password } : undefined,
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
    // After the key: a run cut short here still gets in by key, whatever the password is by then.
    if (newPassword && !recaps.flat().some((r) => r.failed || r.unreachable)) {
      await setRootPassword(await session.connect(fresh.hosts.find((h) => h.name === host.name)!), newPassword);
      log(`Set the router's root password (it had none).`);
    }
    recaps.push(await session.run(uplinkPlay(ca, [host.name])));
    const failed = recaps.flat().find((r) => r.failed || r.unreachable);
    if (failed)
      throw new UserError(
        `setting up ${host.name} failed: ${failed.error}`,
        "fix what it says, then run the same command again: it continues where it stopped",
      );

    // 4. The tunnel works when the node pings the hub over the mesh.
    log(`Waiting for ${host.name} to reach the hub over the mesh...`);
    const transport = await session.connect(fresh.hosts.find((h) => h.name === host.name)!);
    const hubIp = hub?.meshIp ?? "10.0.4.1";
    await awaitHubPing(
      transport,
      host.name,
      hubIp,
      `check that the router can reach the internet and that UDP is not blocked; logs: ${nebulaLogHint(facts.os, "nebula-mesh")}`,
    );
    log(`${host.name} reaches the hub at ${hubIp} over the mesh.`);

    // 5. The hub learns of the new uplink. Two installers enrolling at once would converge the hub at once (both
    //    creating the same tunnel failed one of them: "RTNETLINK answers: File exists"), and the one that read the
    //    inventory before the other's router was added would remove that one's tunnel: one at a time, under the
    //    inventory's lock as for addresses, each with the inventory as it is now.
    let hubUpdated = false;
    if (fresh.groups.hub?.length) {
      await withLock(
        `${req.inventoryFile}.hub-lock`,
        async () => {
          const now = new Session(loadInventory(req.inventoryFile), { ...options, reach });
          try {
            const hubRecaps = await now.run(hubPlay(ca));
            recaps.push(hubRecaps);
            hubUpdated = hubRecaps.every((r) => !r.failed && !r.unreachable);
            if (!hubUpdated)
              log(
                `WARNING: the hub could not be updated through ${host.name} over the mesh (${hubRecaps.map((r) => r.error).join("; ")}); a maintainer must run tasks/deploy-hub.ts`,
              );
            await settleRegister(now, ca, log);
            // The new certificate is in the register now: the hub's Prometheus learns when it ends.
            if (hubUpdated) recaps.push(await now.run(certificatesPlay()));
          } finally {
            await now.close();
          }
        },
        HUB_LOCK_WAIT_MS,
      );
    }
    await settleRegister(session, ca, log);
    // The card says what the router was set up with: the inventory's values, never the answers as typed.
    const vars = fresh.hosts.find((h) => h.name === host.name)!.vars;
    const card = renderTemplate("enroll/reference-card.hbs", {
      name: host.name,
      mesh_ip: host.meshIp,
      volunteer: vars.volunteer,
      bandwidth: vars.bandwidth,
      date: new Date().toISOString().slice(0, 10),
      community: (fresh.vars.community_name as string | undefined) ?? "Stone Soup Kitchen",
      support_contact: (fresh.vars.support_contact as string | undefined) ?? "the Stone Soup Kitchen mesh team",
    });
    return {
      name: host.name,
      meshIp: host.meshIp!,
      recaps: mergeRecaps(...recaps),
      card,
      hubUpdated,
      blankRootPassword: facts.blankRootPassword && !newPassword,
    };
  } finally {
    await session.close();
  }
}
