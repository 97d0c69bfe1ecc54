// What a failed connection means and what to try, in words for the person at the laptop: never raw errno text alone.
// The transport knows how the attempt ended (connect-policy.ts's Outcome) and where it went; the commands add what
// only they know (the network the laptop must be on, the flag that gives a password).
import type { Outcome } from "./connect-policy.ts";

export interface ConnectContext {
  /** The address dialled (or asked of the jump host) and its port. */
  address: string;
  port: number;
  /** The node's name in the inventory, when it has one yet (enrollment's first contact has none). */
  node?: string;
  /** The host the TCP connection was asked of (ssh_via), when it was not dialled from this laptop. */
  via?: string;
  /** The network this laptop must be on to reach `address` directly, e.g. "the router's LAN". */
  network?: string;
  /** A password was given for this login. */
  passwordGiven?: boolean;
  /** How the person gives a password for a first contact, e.g. "--password (or ROUTER_PASSWORD)"; none: not asked. */
  passwordOption?: string;
  /** The login key's file, for messages. */
  keyFile?: string;
  user?: string;
  /** The connect timeout, for "no answer within N s". */
  timeoutMs?: number;
}

const seconds = (ms: number | undefined) => `${Math.round((ms ?? 10_000) / 100) / 10} s`;

/** The errno code in brackets, kept for people who search for it or report it. */
const codeOf = (err: { code?: unknown } | undefined) => (typeof err?.code === "string" ? ` (${err.code})` : "");

/**
 * Why a host is down (its TCP connection never came up), and what to check: the first words say "down:", as the
 * recap's unreachable does; `err` is the connect's own error (node:net's, or a jump host's refused forward).
 */
export function downMessage(outcome: Outcome, ctx: ConnectContext, err?: Error & { code?: unknown }): string {
  const { fact, advice } = downParts(outcome, ctx, err);
  return `down: ${fact}: ${advice}`;
}

/** A jump host's own words for its failed forward (they name the hop), then what to check. */
export function jumpDownMessage(
  own: string,
  outcome: Outcome,
  ctx: ConnectContext,
  err?: Error & { code?: unknown },
): string {
  return `${own}; down: ${downParts(outcome, ctx, err).advice}`;
}

function downParts(outcome: Outcome, ctx: ConnectContext, err?: Error & { code?: unknown }) {
  const at = `${ctx.address}${ctx.port === 22 ? "" : ` port ${ctx.port}`}`;
  const code = codeOf(err);
  const network = ctx.network ?? "the same network as that address";
  // Through a jump host the laptop's own network is not the question: the jump host's path to the node is.
  const tunnel = `is ${ctx.node ?? "the node"} powered on, its line or radio up and its Nebula running? (${ctx.via} reaches it only over its tunnel)`;
  switch (outcome) {
    case "tcp-refused":
      return {
        fact: `${ctx.address} answered but refused a connection to port ${ctx.port}${code}`,
        advice: `no SSH server listens there; check the port (--port, or the inventory's port) and that its SSH server (dropbear, sshd) is running`,
      };
    case "tcp-no-route":
      if (ctx.via) return { fact: `${ctx.via} has no route to ${at}${code}`, advice: tunnel };
      if (err?.code === "ENETUNREACH")
        return {
          fact: `this laptop has no network toward ${ctx.address}${code}`,
          advice: `is it on ${network} (cable plugged in, or Wi-Fi connected)? Check the address too`,
        };
      return {
        fact: `no route to ${ctx.address}${code}`,
        advice: `nothing answers at that address on this laptop's network: is the laptop on ${network} (cable plugged in, or Wi-Fi connected), and is the address right?`,
      };
    case "tcp-timeout":
      if (ctx.via)
        return { fact: `no answer from ${at} through ${ctx.via} within ${seconds(ctx.timeoutMs)}`, advice: tunnel };
      return {
        fact: `no answer from ${at} within ${seconds(ctx.timeoutMs)}${code}`,
        advice: `the host is off or its line cut, or nothing has that address: is it powered on, is the laptop on ${network}, and is the address right?`,
      };
    default:
      if (err?.code === "ENOTFOUND" || err?.code === "EAI_AGAIN")
        return {
          fact: `the name ${ctx.address} does not resolve${code}`,
          advice: `use the host's IP address in the inventory (or --address)`,
        };
      return {
        fact: `${ctx.via ? `${ctx.via} could not open a connection to ${at}` : `no connection to ${at}`}: ${err?.message ?? "no TCP connection"}`,
        advice: ctx.via ? tunnel : "check the address and the laptop's network",
      };
  }
}

/**
 * A refused login. With a password given, the password (or the server's rules for root) is the thing to check, never
 * a hint to give one; without, the key is not authorized there.
 */
export function authMessage(ctx: ConnectContext): string {
  const user = ctx.user ?? "root";
  const key = ctx.keyFile ? `the key ${ctx.keyFile}` : "this laptop's key";
  if (ctx.passwordGiven)
    return `login refused: ${user}'s password was not accepted (nor ${key}): check the password and type it again; a server that takes no password for ${user} needs ${key} in its authorized_keys instead`;
  if (ctx.passwordOption)
    return `login refused: ${key} is not authorized for ${user} there: on first contact give ${user}'s password (${ctx.passwordOption})`;
  return `login refused: ${key} is not authorized for ${user} there: was this host enrolled with this inventory's key? Enroll it again, or add the key's .pub to its authorized_keys`;
}

/** The two ends share no algorithm, or the far end speaks no SSH. */
export function protocolMessage(ctx: ConnectContext, detail: string): string {
  return `SSH handshake failed (${detail}): ${ctx.address} port ${ctx.port} may not be an SSH server (check the port), or its SSH server is too old to share an algorithm with this runner (upgrade its firmware or OpenSSH)`;
}
