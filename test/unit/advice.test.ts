// Messages for a failed connection: each way it fails, in words with what to try; raw errno text never alone, and a
// refused password never answered with a hint to give one.
import { describe, expect, it } from "vitest";
import {
  authMessage,
  downMessage,
  jumpDownMessage,
  protocolMessage,
  type ConnectContext,
} from "../../lib/transport/advice.ts";
import type { Outcome } from "../../lib/transport/connect-policy.ts";

const errno = (code: string, message = `connect ${code} 192.168.8.1:22`) => Object.assign(new Error(message), { code });
const router: ConnectContext = { address: "192.168.8.1", port: 22, network: "the router's LAN (cable or Wi-Fi)" };
const meshNode: ConnectContext = { address: "10.0.4.66", port: 22, node: "uplink-2", via: "hub" };

interface DownCase {
  name: string;
  outcome: Outcome;
  ctx: ConnectContext;
  err?: Error;
  says: RegExp[];
  never?: RegExp[];
}

const DOWN: DownCase[] = [
  {
    name: "no route (EHOSTUNREACH), laptop on the wrong network",
    outcome: "tcp-no-route",
    ctx: router,
    err: errno("EHOSTUNREACH"),
    says: [/^down: no route to 192\.168\.8\.1 \(EHOSTUNREACH\)/, /is the laptop on the router's LAN/, /address right/],
  },
  {
    name: "no network at all (ENETUNREACH)",
    outcome: "tcp-no-route",
    ctx: router,
    err: errno("ENETUNREACH"),
    says: [/^down: this laptop has no network toward 192\.168\.8\.1 \(ENETUNREACH\)/, /cable plugged in, or Wi-Fi/],
  },
  {
    name: "refused (ECONNREFUSED): up, but no SSH server on that port",
    outcome: "tcp-refused",
    ctx: { ...router, port: 2222 },
    err: errno("ECONNREFUSED"),
    says: [/refused a connection to port 2222 \(ECONNREFUSED\)/, /no SSH server listens there/, /check the port/],
  },
  {
    name: "timed out (ETIMEDOUT)",
    outcome: "tcp-timeout",
    ctx: { ...router, timeoutMs: 10_000 },
    err: errno("ETIMEDOUT"),
    says: [/^down: no answer from 192\.168\.8\.1 within 10 s \(ETIMEDOUT\)/, /powered on/, /router's LAN/],
  },
  {
    name: "our own connect timeout (no errno)",
    outcome: "tcp-timeout",
    ctx: { address: "10.42.0.1", port: 22, timeoutMs: 2_500 },
    err: new Error("no answer within 2500 ms"),
    says: [/^down: no answer from 10\.42\.0\.1 within 2\.5 s: the host is off/],
    never: [/\(undefined\)/],
  },
  {
    name: "through the hub, no answer: the node's tunnel, not the laptop's network",
    outcome: "tcp-timeout",
    ctx: meshNode,
    says: [/^down: no answer from 10\.0\.4\.66 through hub within 10 s/, /uplink-2 powered on/, /Nebula/],
    never: [/laptop on/],
  },
  {
    name: "through the hub, no route",
    outcome: "tcp-no-route",
    ctx: meshNode,
    err: new Error("No route to host"),
    says: [/^down: hub has no route to 10\.0\.4\.66/, /uplink-2/],
  },
  {
    name: "through the hub, refused",
    outcome: "tcp-refused",
    ctx: meshNode,
    err: new Error("Connection refused"),
    says: [/10\.0\.4\.66 answered but refused a connection to port 22/],
  },
  {
    name: "a name that does not resolve",
    outcome: "tcp-other",
    ctx: { address: "hub.local", port: 22 },
    err: errno("ENOTFOUND", "getaddrinfo ENOTFOUND hub.local"),
    says: [/^down: the name hub\.local does not resolve \(ENOTFOUND\)/, /IP address/],
  },
  {
    name: "a jump host's forward refused for another reason",
    outcome: "tcp-other",
    ctx: meshNode,
    err: new Error("Administratively prohibited"),
    says: [/^down: hub could not open a connection to 10\.0\.4\.66: Administratively prohibited/, /Nebula/],
  },
];

describe("downMessage", () => {
  it.each(DOWN)("$name", ({ outcome, ctx, err, says, never }) => {
    const text = downMessage(outcome, ctx, err as Error & { code?: string });
    for (const s of says) expect(text).toMatch(s);
    for (const n of never ?? []) expect(text).not.toMatch(n);
    // Always advice after the facts: a question or an imperative after the colon.
    expect(text).toMatch(/: .*(\?|check|use )/);
  });
});

describe("jumpDownMessage", () => {
  it("keeps the jump host's own words (they name the hop) and adds what to check about the node", () =>
    expect(
      jumpDownMessage(
        "could not open a TCP connection from hub to 10.0.4.66:22: no answer within 5000 ms",
        "tcp-timeout",
        meshNode,
      ),
    ).toBe(
      "could not open a TCP connection from hub to 10.0.4.66:22: no answer within 5000 ms; down: is uplink-2 powered on, its line or radio up and its Nebula running? (hub reaches it only over its tunnel)",
    ));
});

const AUTH: { name: string; ctx: ConnectContext; says: RegExp[]; never: RegExp[] }[] = [
  {
    name: "a password given and refused: check it, never 'pass --password'",
    ctx: { ...router, passwordGiven: true, passwordOption: "--password (or ROUTER_PASSWORD)" },
    says: [/root's password was not accepted/, /type it again/],
    never: [/--password/, /give .*password/],
  },
  {
    name: "enrollment without a password: give it",
    ctx: { ...router, passwordOption: "--password (or ROUTER_PASSWORD)", keyFile: "inventory/pilot/id_ed25519" },
    says: [/the key inventory\/pilot\/id_ed25519 is not authorized for root/, /give root's password \(--password/],
    never: [/not accepted/],
  },
  {
    name: "a playbook: the inventory's key, no password flag to suggest",
    ctx: { ...meshNode, keyFile: "inventory/pilot/id_ed25519" },
    says: [/is not authorized for root there/, /enrolled with this inventory's key/],
    never: [/--password/],
  },
];

describe("authMessage", () => {
  it.each(AUTH)("$name", ({ ctx, says, never }) => {
    const text = authMessage(ctx);
    for (const s of says) expect(text).toMatch(s);
    for (const n of never) expect(text).not.toMatch(n);
  });
});

describe("protocolMessage", () => {
  it("names the port and the two likely causes", () =>
    expect(protocolMessage({ address: "192.168.8.1", port: 80 }, "no matching key exchange")).toMatch(
      /^SSH handshake failed \(no matching key exchange\): 192\.168\.8\.1 port 80 may not be an SSH server \(check the port\), or .*too old/,
    ));
});
