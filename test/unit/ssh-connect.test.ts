// SshTransport.connect against servers on loopback: a closed port is down after one attempt; a server that accepts TCP
// but stalls is slow, tried again with more time, and connects once it answers; the gate bounds the attempts in flight
// and a queued attempt's deadline starts with its handshake.
import { existsSync, mkdtempSync } from "node:fs";
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ssh2 from "ssh2";
import { afterAll, describe, expect, it } from "vitest";
import { TransportError } from "../../lib/errors.ts";
import { HandshakeGate } from "../../lib/transport/handshake-gate.ts";
import { SshTransport, type AttemptTiming } from "../../lib/transport/ssh.ts";
import { waitFor } from "../helpers/poll.ts";

const dir = mkdtempSync(join(tmpdir(), "meshisp-connect-"));
const hostKey = ssh2.utils.generateKeyPairSync("ed25519").private;
const loginKey = Buffer.from(ssh2.utils.generateKeyPairSync("ed25519").private);
const servers: NetServer[] = [];
afterAll(() => servers.forEach((s) => s.close()));

/** A TCP server on loopback; `onSocket` decides what each connection gets (n: 1 for the first connection). */
async function listen(onSocket: (socket: Socket, n: number) => void): Promise<number> {
  let n = 0;
  const server = createServer((socket) => onSocket(socket, ++n));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as AddressInfo).port;
}

/** A real SSH server (ssh2's) that lets any key in and answers `true` with exit 0. */
const sshd = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
  client.on("authentication", (ctx) => (ctx.method === "publickey" ? ctx.accept() : ctx.reject(["publickey"])));
  client.on("session", (accept) =>
    accept().on("exec", (ok) => {
      const stream = ok();
      stream.exit(0);
      stream.end();
    }),
  );
  client.on("error", () => undefined);
});

/** An SSH server that refuses every login (a wrong password, a key not authorized). */
const refusing = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
  client.on("authentication", (ctx) => ctx.reject(["publickey", "password"]));
  client.on("error", () => undefined);
});

const quick = { attempts: 3, handshakeTimeoutMs: 150, growth: 2 };
const connect = (port: number, extra: Partial<Parameters<typeof SshTransport.connect>[0]> = {}) => {
  const attempts: AttemptTiming[] = [];
  const done = SshTransport.connect({
    host: "127.0.0.1",
    port,
    privateKey: loginKey,
    knownHostsFile: join(dir, `known_hosts-${port}`),
    pinName: `node-${port}`,
    connectTimeoutMs: 1_000,
    policy: quick,
    onAttempt: (t) => attempts.push(t),
    ...extra,
  });
  return { done, attempts };
};

describe("SshTransport.connect", () => {
  it("a closed port is down: one attempt, exit-4 unreachable, and the message says it was refused", async () => {
    const port = await listen(() => undefined);
    await new Promise<void>((r) => servers.pop()!.close(() => r()));
    const { done, attempts } = connect(port);
    const err = (await done.catch((e: unknown) => e)) as TransportError;
    expect(err).toBeInstanceOf(TransportError);
    expect([err.unreachable, attempts.map((a) => a.outcome)]).toEqual([true, ["tcp-refused"]]);
    expect(err.message).toMatch(
      new RegExp(
        `^root@127\\.0\\.0\\.1:${port}: could not connect: down: 127\\.0\\.0\\.1 answered but refused a connection to port ${port} \\(ECONNREFUSED\\): no SSH server listens there; check the port`,
      ),
    );
  });

  it("a server that accepts TCP and never speaks is slow: three attempts of 150, 300 and 600 ms, then 'slow, not down'", async () => {
    const held: Socket[] = [];
    const port = await listen((s) => held.push(s));
    const start = performance.now();
    const { done, attempts } = connect(port);
    const err = (await done.catch((e: unknown) => e)) as TransportError;
    const took = performance.now() - start;
    held.forEach((s) => s.destroy());
    expect([err.unreachable, attempts.map((a) => a.outcome)]).toEqual([
      true,
      ["ssh-timeout", "ssh-timeout", "ssh-timeout"],
    ]);
    expect(err.message).toBe(
      `root@127.0.0.1:${port}: slow, not down: it accepted TCP but did not finish the SSH handshake in time (3 attempts, allowed 0.15 s, 0.3 s, 0.6 s); a slow line or a busy SSH server`,
    );
    expect(took).toBeGreaterThanOrEqual(1_050);
    expect(held.length).toBe(3);
  });

  it("a server that hangs up during the handshake is tried again, and a stalled first attempt is followed by a good one", async () => {
    const port = await listen((s, n) => (n === 1 ? s.destroy() : n === 2 ? undefined : sshd.injectSocket(s)));
    const { done, attempts } = connect(port);
    const transport = await done;
    expect(attempts.map((a) => a.outcome)).toEqual(["ssh-closed", "ssh-timeout", "ready"]);
    expect(attempts[2]).toMatchObject({
      kex: expect.stringMatching(/^curve25519-sha256/),
      cipher: expect.stringMatching(/gcm|chacha20/),
    });
    expect((await transport.run({ render: () => "true", display: () => "true" } as never)).code).toBe(0);
    await transport.close();
  });

  it("the gate bounds attempts in flight, and a queued attempt gets its whole handshake time once it starts", async () => {
    const opened: { at: number; closed?: number }[] = [];
    const port = await listen((s) => {
      const entry: { at: number; closed?: number } = { at: performance.now() };
      opened.push(entry);
      s.on("close", () => (entry.closed = performance.now())).resume();
      s.on("error", () => undefined);
    });
    const gate = new HandshakeGate(2);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        connect(port, { gate, pinName: `q-${i}`, policy: { ...quick, attempts: 1 } }).done.catch((e: Error) => e),
      ),
    );
    // The server sees each close a moment after the client gave up.
    await waitFor("the server to see every connection closed", () => opened.every((o) => o.closed !== undefined));
    expect(results.every((r) => r instanceof TransportError && /slow, not down/.test(r.message))).toBe(true);
    expect(gate.peak).toBe(2);
    expect(opened.length).toBe(6);
    // Each connection was held open for its full 150 ms, the last ones too (they waited ~300 ms in the queue first).
    for (const o of opened) expect(o.closed! - o.at).toBeGreaterThanOrEqual(140);
    expect(opened[5].at - opened[0].at).toBeGreaterThanOrEqual(280);
  });

  it("--check (pinNewKeys false): a new key is trusted for that connection only, nothing is written, and it says which key it would pin", async () => {
    const port = await listen((s) => sshd.injectSocket(s));
    const file = join(dir, `known_hosts-check-${port}`);
    const notices: string[] = [];
    const pins: unknown[] = [];
    const once = () =>
      connect(port, {
        knownHostsFile: file,
        pinName: "uplink-9",
        pinNewKeys: false,
        onNewHostKey: (m) => notices.push(m),
        onWouldPin: (p) => pins.push(p),
      }).done;
    await (await once()).close();
    await (await once()).close();
    expect(existsSync(file)).toBe(false);
    // Seen as new both times: the first run pinned nothing.
    expect(pins).toEqual([
      { name: "uplink-9", keyType: "ssh-ed25519", fingerprint: expect.stringMatching(/^SHA256:[A-Za-z0-9+/]{43}$/) },
      pins[0],
    ]);
    expect(notices[0]).toMatch(
      /first contact \(check mode\): trusted its ssh-ed25519 host key SHA256:\S+ for this run only/,
    );
  });

  it("a refused login with a password given says to check the password, never to give one", async () => {
    const port = await listen((s) => refusing.injectSocket(s));
    const { done, attempts } = connect(port, {
      password: "wrong",
      advice: { passwordOption: "--password (or ROUTER_PASSWORD)" },
    });
    const err = (await done.catch((e: unknown) => e)) as TransportError;
    expect([err.unreachable, attempts.map((a) => a.outcome)]).toEqual([false, ["auth-refused"]]);
    expect(err.message).toMatch(/login refused: root's password was not accepted/);
    expect(err.message).not.toMatch(/--password/);
  });

  it("a refused login without a password, on a first contact, says how to give one", async () => {
    const port = await listen((s) => refusing.injectSocket(s));
    const { done } = connect(port, { advice: { passwordOption: "--password (or ROUTER_PASSWORD)" } });
    const err = (await done.catch((e: unknown) => e)) as TransportError;
    expect(err.message).toMatch(/is not authorized for root there: on first contact give root's password \(--password/);
  });
});
