// The connection policy: down is said at once, slow gets more attempts with more time, refusals are final; and the gate.
import { describe, expect, it } from "vitest";
import {
  DEFAULT_POLICY,
  decide,
  handshakeTimeoutMs,
  slowMessage,
  tcpOutcome,
  type Decision,
  type Outcome,
} from "../../lib/transport/connect-policy.ts";
import { HandshakeGate } from "../../lib/transport/handshake-gate.ts";

const policy = { attempts: 3, handshakeTimeoutMs: 10_000, growth: 2 };
const down: Decision = { action: "give-up", verdict: "down", unreachable: true };
const slow: Decision = { action: "give-up", verdict: "slow", unreachable: true };

const DECISIONS: { outcome: Outcome; attempt: number; decision: Decision }[] = [
  { outcome: "tcp-refused", attempt: 1, decision: down },
  { outcome: "tcp-no-route", attempt: 1, decision: down },
  { outcome: "tcp-timeout", attempt: 1, decision: down },
  { outcome: "tcp-other", attempt: 1, decision: down },
  // A host that went down between two attempts (its line cut during a slow handshake) is down, not slow.
  { outcome: "tcp-timeout", attempt: 2, decision: down },
  { outcome: "ssh-timeout", attempt: 1, decision: { action: "retry", timeoutMs: 20_000 } },
  { outcome: "ssh-timeout", attempt: 2, decision: { action: "retry", timeoutMs: 40_000 } },
  { outcome: "ssh-timeout", attempt: 3, decision: slow },
  { outcome: "ssh-closed", attempt: 1, decision: { action: "retry", timeoutMs: 20_000 } },
  { outcome: "ssh-closed", attempt: 3, decision: slow },
  { outcome: "ssh-protocol", attempt: 1, decision: { action: "give-up", verdict: "refused", unreachable: true } },
  { outcome: "auth-refused", attempt: 1, decision: { action: "give-up", verdict: "refused", unreachable: false } },
  { outcome: "host-key-refused", attempt: 1, decision: { action: "give-up", verdict: "refused", unreachable: false } },
];

describe("decide", () => {
  it.each(DECISIONS)("$outcome after attempt $attempt", ({ outcome, attempt, decision }) =>
    expect(decide(outcome, attempt, policy)).toEqual(decision),
  );

  it("one attempt only: a slow host is given up at once, still as slow", () =>
    expect(decide("ssh-timeout", 1, { ...policy, attempts: 1 })).toEqual(slow));

  it("the default allows 10, 20 and 40 s", () =>
    expect([1, 2, 3].map((a) => handshakeTimeoutMs(DEFAULT_POLICY, a))).toEqual([10_000, 20_000, 40_000]));
});

const TCP: { name: string; err: Error & { code?: string }; timedOut?: boolean; outcome: Outcome }[] = [
  {
    name: "RST",
    err: Object.assign(new Error("connect ECONNREFUSED 198.18.1.5:22"), { code: "ECONNREFUSED" }),
    outcome: "tcp-refused",
  },
  {
    name: "ICMP host unreachable",
    err: Object.assign(new Error("connect EHOSTUNREACH"), { code: "EHOSTUNREACH" }),
    outcome: "tcp-no-route",
  },
  {
    name: "no route on this machine",
    err: Object.assign(new Error("connect ENETUNREACH"), { code: "ENETUNREACH" }),
    outcome: "tcp-no-route",
  },
  {
    name: "the kernel's own SYN timeout",
    err: Object.assign(new Error("connect ETIMEDOUT"), { code: "ETIMEDOUT" }),
    outcome: "tcp-timeout",
  },
  { name: "our connect timeout", err: new Error("no answer within 5000 ms"), timedOut: true, outcome: "tcp-timeout" },
  {
    name: "a jump host's refused forward (OpenSSH's strerror)",
    err: new Error("hub: could not open a TCP connection from there to 10.0.4.66:2: Connection refused"),
    outcome: "tcp-refused",
  },
  {
    name: "a jump host's forward without a route",
    err: new Error("hub: could not open a TCP connection from there to 10.0.4.66:22: No route to host"),
    outcome: "tcp-no-route",
  },
  {
    name: "a forward the jump host does not allow",
    err: new Error("hub: could not open a TCP connection from there to 10.0.4.66:22: Administratively prohibited"),
    outcome: "tcp-other",
  },
];

describe("tcpOutcome", () => {
  it.each(TCP)("$name", ({ err, timedOut, outcome }) => expect(tcpOutcome(err, timedOut ?? false)).toBe(outcome));
});

describe("messages", () => {
  // Which way a host is down, in words with advice: advice.test.ts.
  it("slow says it accepted TCP, how many attempts and how long each had", () => {
    expect(slowMessage(policy, 3, "ssh-timeout")).toBe(
      "slow, not down: it accepted TCP but did not finish the SSH handshake in time (3 attempts, allowed 10 s, 20 s, 40 s); a slow line or a busy SSH server",
    );
    expect(slowMessage(policy, 1, "ssh-closed")).toMatch(
      /^slow, not down: it accepted TCP but closed the connection during the SSH handshake \(1 attempt, allowed 10 s\)/,
    );
  });
});

describe("HandshakeGate", () => {
  const tick = () => new Promise((r) => setImmediate(r));

  it("never lets more than its size run, serves in order, and frees the place however the work ends", async () => {
    const gate = new HandshakeGate(3);
    const started: number[] = [];
    const release: (() => void)[] = [];
    let running = 0;
    let most = 0;
    const jobs = Array.from({ length: 10 }, (_, i) =>
      gate
        .run(async () => {
          started.push(i);
          running++;
          most = Math.max(most, running);
          await new Promise<void>((r) => release.push(r));
          running--;
          if (i % 2) throw new Error(`job ${i} failed`);
          return i;
        })
        .catch((err: Error) => err.message),
    );
    await tick();
    expect([started, gate.inFlight, gate.queued]).toEqual([[0, 1, 2], 3, 7]);
    while (release.length) {
      release.shift()!();
      await tick();
      await tick();
    }
    expect(await Promise.all(jobs)).toEqual([
      0,
      "job 1 failed",
      2,
      "job 3 failed",
      4,
      "job 5 failed",
      6,
      "job 7 failed",
      8,
      "job 9 failed",
    ]);
    expect([started, most, gate.peak, gate.inFlight, gate.queued]).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      3,
      3,
      0,
      0,
    ]);
  });

  it("refuses a size below one", () => expect(() => new HandshakeGate(0)).toThrow(RangeError));
});
