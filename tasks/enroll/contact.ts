// Steps every enrollment shares (a volunteer's router, a member's machine): the first contact at the address the
// installer gave, which node the host is (by its host key), what it runs; and, once Nebula is up, its ping to the hub.
import { sh } from "../../lib/command.ts";
import { TransportError, UserError } from "../../lib/errors.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import { withLock } from "../../lib/lock.ts";
import type { SessionOptions } from "../../lib/runner/session.ts";
import { fingerprintOf, keyTypeOf, pinHostKey, readPins } from "../../lib/transport/known-hosts.ts";
import {
  DEFAULT_POLICY,
  decide as nextAttempt,
  handshakeTimeoutMs,
  type Outcome,
} from "../../lib/transport/connect-policy.ts";
import { withDeadline } from "../../lib/transport/deadline.ts";
import { SshTransport, type AttemptTiming } from "../../lib/transport/ssh.ts";
import type { Transport } from "../../lib/transport/types.ts";
import { inspectRouter, type RouterFacts } from "./checks.ts";
import { decideIdentity, type Identity } from "./identity.ts";

export interface ContactRequest {
  inventoryFile: string;
  /** Where the installer's laptop reaches the host (its LAN address). */
  address: string;
  port: number;
  /** Root's password, for the first contact only. */
  password?: string;
  /** --name for a new host; a host enrolled before keeps its own. */
  name?: string;
  /** The inventory group it joins: new names follow it (uplink-N, client-N). */
  group: string;
  /** What messages call it: "router", "machine". */
  noun: string;
}

/**
 * Reaches the host at the address given and reads it before anything changes. Which node it is comes from its host
 * key, decided under the inventory's lock (two enrollments at once get two names); a new host's key is pinned under
 * its new name right then, so a re-run recognises it.
 */
export async function firstContact(
  req: ContactRequest,
  log: (line: string) => void,
  options: SessionOptions = {},
): Promise<{ identity: Identity; facts: RouterFacts }> {
  const inventory = loadInventory(req.inventoryFile);
  const { noun, address, port } = req;
  log(`Connecting to ${address}...`);
  let identity: Identity | undefined;
  let decidedFor: Buffer | undefined;
  const decide = async (key: Buffer) => {
    // Decided once: an attempt that saw the key and then timed out pinned it; the next attempt is the same host.
    if (identity && decidedFor?.equals(key)) return identity.name;
    decidedFor = key;
    return withLock(`${req.inventoryFile}.lock`, () => {
      const now = loadInventory(req.inventoryFile);
      identity = decideIdentity({
        key,
        pins: readPins(inventory.knownHosts),
        hosts: now.hosts,
        address,
        port,
        name: req.name,
        group: req.group,
        knownHostsFile: inventory.knownHosts,
        noun,
      });
      if (identity.kind !== "re-run") {
        pinHostKey(inventory.knownHosts, identity.name, key);
        log(
          identity.kind === "new"
            ? `NOTICE ${address}: a ${noun} seen for the first time: pinned its ${keyTypeOf(key)} host key ${fingerprintOf(key)} as ${identity.name} in ${inventory.knownHosts}`
            : `NOTICE ${address}: ${inventory.knownHosts}:${identity.line} pinned this key by address (as older versions did): it is ${identity.name}, pinned as ${identity.name} now`,
        );
      }
      return identity.name;
    });
  };
  const network = `the ${noun}'s LAN (cable or Wi-Fi)`;
  // The runner's connect policy (connect-policy.ts): refused, no route or no answer to TCP is down at once; a host that
  // accepts TCP but is slow in SSH (a router that has just booted: dropbear up, the CPU still busy) gets more attempts.
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  const policy = options.connectPolicy ?? {
    ...DEFAULT_POLICY,
    handshakeTimeoutMs: Math.max(DEFAULT_POLICY.handshakeTimeoutMs, timeoutMs),
  };
  let last: Outcome | undefined;
  const onAttempt = (t: AttemptTiming) => {
    options.onAttempt?.(t);
    if (t.outcome === "ready") return;
    last = t.outcome;
    const next = nextAttempt(t.outcome, t.attempt, policy);
    if (next.action === "retry")
      log(
        `${address} accepted the connection but ${t.outcome === "ssh-closed" ? "closed it during the SSH handshake" : `did not finish the SSH handshake within ${handshakeTimeoutMs(policy, t.attempt) / 1000} s`} (a ${noun} that has just booted is slow for a minute): trying again, allowing ${next.timeoutMs / 1000} s`,
      );
  };
  // Each attempt opens its own stream, as the runner's do (session.ts): a stream handed over would serve one attempt.
  const dialFrom = options.dial;
  const dial = dialFrom
    ? () => withDeadline(dialFrom(address, port), timeoutMs, `no answer within ${timeoutMs} ms`, (s) => s.destroy())
    : undefined;
  const probe = await SshTransport.connect({
    host: address,
    port,
    keyFile: inventory.sshKey!,
    password: req.password,
    knownHostsFile: inventory.knownHosts,
    pinName: decide,
    dial,
    connectTimeoutMs: timeoutMs,
    policy,
    onAttempt,
    // The messages of a failed contact say where the laptop must be and how a password is given (advice.ts).
    advice: { network, passwordOption: "--password", keyFile: inventory.sshKey },
  }).catch((err: Error) => {
    if (err instanceof UserError) throw err;
    if (err instanceof TransportError && !err.unreachable) throw new UserError(err.message);
    throw new UserError(
      `cannot reach the ${noun}: ${err.message}`,
      last === "ssh-timeout" || last === "ssh-closed"
        ? `it answers but too slowly: if it has just been powered on, wait a minute and run the same command again`
        : undefined,
    );
  });
  if (identity!.kind === "re-run")
    log(`This ${noun} is ${identity!.name} (its host key is pinned under that name): finishing its enrollment.`);
  try {
    return { identity: identity!, facts: await inspectRouter(probe) };
  } finally {
    await probe.close();
  }
}

/** Waits until the node pings the hub over the mesh (its tunnel works); a UserError saying where to look if not. */
export async function awaitHubPing(transport: Transport, name: string, hubIp: string, hint: string): Promise<void> {
  let ok = false;
  for (let attempt = 0; attempt < 15 && !ok; attempt++)
    ok = (await transport.run(sh`ping -c 1 -W 2 ${hubIp}`)).code === 0;
  if (!ok) throw new UserError(`${name} runs nebula but cannot reach the hub (${hubIp}) over the mesh`, hint);
}
