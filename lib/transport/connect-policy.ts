// How a connection attempt ends, and what the runner does next: a host that never accepted TCP is down (said at once,
// never retried); a host that accepted TCP but did not finish the SSH handshake in time is slow or busy (a router on a
// slow line, an sshd at its MaxStartups) and gets more attempts, each with more time; a refused key or login is final.

/** What one attempt ended with. */
export type Outcome =
  /** TCP: actively refused (RST: nothing listens on that port). */
  | "tcp-refused"
  /** TCP: no route to the host (ICMP unreachable, no neighbour answering ARP). */
  | "tcp-no-route"
  /** TCP: no answer to the SYN within the connect timeout (host off, line cut, a silent mesh IP). */
  | "tcp-timeout"
  /** TCP: anything else on the way to a connected stream (a jump host refusing the forward, DNS). */
  | "tcp-other"
  /** TCP accepted, but the SSH key exchange and login did not finish within this attempt's handshake timeout. */
  | "ssh-timeout"
  /** TCP accepted, then closed or reset before the handshake finished (sshd's MaxStartups, dropbear's unauth limit). */
  | "ssh-closed"
  /** The server and the runner share no algorithm, or the server speaks no SSH: trying again changes nothing. */
  | "ssh-protocol"
  /** Login refused (key or password): the user's to fix. */
  | "auth-refused"
  /** The host key differs from the pin (or enrollment refused the key): the user's to judge. */
  | "host-key-refused";

export interface ConnectPolicy {
  /** Attempts at most, for a host that accepts TCP but is slow in SSH (1: no retry). */
  attempts: number;
  /** The first attempt's handshake timeout, counted from when the handshake starts (not from when it was queued). */
  handshakeTimeoutMs: number;
  /** Each further attempt gets this many times the previous one's time (a slow line stays slow). */
  growth: number;
}

/**
 * Three attempts of 10, 20 and 40 s: a handshake is about four round trips, so even a line with 2 s of round-trip time
 * under load gets through on the second, and a truly wedged sshd costs 70 s, not a false "unreachable".
 */
export const DEFAULT_POLICY: ConnectPolicy = { attempts: 3, handshakeTimeoutMs: 10_000, growth: 2 };

/** The handshake timeout of attempt `attempt` (1-based). */
export const handshakeTimeoutMs = (policy: ConnectPolicy, attempt: number): number =>
  Math.round(policy.handshakeTimeoutMs * policy.growth ** (attempt - 1));

type Verdict = "down" | "slow" | "refused";

export type Decision =
  | { action: "retry"; timeoutMs: number }
  /** `unreachable`: the recap's unreachable (exit 4); a refused login or key is a failure of the host instead (exit 2). */
  | { action: "give-up"; verdict: Verdict; unreachable: boolean };

/** After attempt `attempt` (1-based) ended with `outcome`: try again (and how long to allow), or stop and say why. */
export function decide(outcome: Outcome, attempt: number, policy: ConnectPolicy = DEFAULT_POLICY): Decision {
  switch (outcome) {
    case "tcp-refused":
    case "tcp-no-route":
    case "tcp-timeout":
    case "tcp-other":
      return { action: "give-up", verdict: "down", unreachable: true };
    case "ssh-timeout":
    case "ssh-closed":
      return attempt < policy.attempts
        ? { action: "retry", timeoutMs: handshakeTimeoutMs(policy, attempt + 1) }
        : { action: "give-up", verdict: "slow", unreachable: true };
    case "ssh-protocol":
      return { action: "give-up", verdict: "refused", unreachable: true };
    case "auth-refused":
    case "host-key-refused":
      return { action: "give-up", verdict: "refused", unreachable: false };
  }
}

/** A failed TCP connect (node:net's error codes, or a timeout of ours) as an outcome. */
export function tcpOutcome(err: Error & { code?: string }, timedOut: boolean): Outcome {
  if (timedOut || err.code === "ETIMEDOUT") return "tcp-timeout";
  if (err.code === "ECONNREFUSED") return "tcp-refused";
  if (err.code === "EHOSTUNREACH" || err.code === "ENETUNREACH" || err.code === "EHOSTDOWN") return "tcp-no-route";
  // A jump host's refused forward carries its kernel's words (OpenSSH sends strerror as the channel's failure text).
  if (/connection refused/i.test(err.message)) return "tcp-refused";
  if (/no route to host|network is unreachable|host is unreachable/i.test(err.message)) return "tcp-no-route";
  return "tcp-other";
}

/** The message for a host that accepted TCP every time but never finished the handshake: slow, not down. */
export function slowMessage(policy: ConnectPolicy, attempts: number, last: Outcome): string {
  const allowed = Array.from({ length: attempts }, (_, i) => `${handshakeTimeoutMs(policy, i + 1) / 1000} s`).join(
    ", ",
  );
  const what =
    last === "ssh-closed"
      ? "closed the connection during the SSH handshake"
      : "did not finish the SSH handshake in time";
  return `slow, not down: it accepted TCP but ${what} (${attempts} attempt${attempts === 1 ? "" : "s"}, allowed ${allowed}); a slow line or a busy SSH server`;
}
