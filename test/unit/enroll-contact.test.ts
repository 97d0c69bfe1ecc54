// Enrollment's first contact under the runner's connect policy, against servers on loopback: a router that accepts TCP
// but is slow in SSH (just booted) is tried again, saying so, and is enrolled as one new node; a refused port fails at
// once with what to check; a dial (the lab's laptop namespaces) opens a new stream for each attempt.
import { spawn } from "node:child_process";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { join } from "node:path";
import ssh2 from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../lib/errors.ts";
import { firstContact, type ContactRequest } from "../../tasks/enroll/contact.ts";
import { tempDir } from "./fixtures/pki/helpers.ts";

const quick = { attempts: 3, handshakeTimeoutMs: 300, growth: 2 };
const servers: Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

/**
 * An SSH server that lets any key in and runs what it is asked here, under sh (the gather script reads this machine:
 * its facts stand in for a router's), with a host key of its own (a router of its own). `slowLogin` holds the login of
 * the connections it names (a busy router).
 */
function sshd(slowLogin: (n: number) => boolean = () => false) {
  let n = 0;
  const hostKey = ssh2.utils.generateKeyPairSync("ed25519").private;
  return new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
    const mine = ++n;
    client.on("authentication", (ctx) => {
      if (slowLogin(mine)) return; // never answered: the attempt's handshake deadline ends it
      if (ctx.method === "publickey") ctx.accept();
      else ctx.reject(["publickey"]);
    });
    client.on("session", (accept) =>
      accept().on("exec", (ok, _reject, info) => {
        const stream = ok();
        // In network and mount namespaces of its own, with its own sysfs (only lo): the port probe reads one device,
        // not every lab link of this machine (256 of them took it 24 s at load 20).
        const child = spawn(
          "unshare",
          [
            "--net",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            'mount -t sysfs sysfs /sys && exec sh -c "$1"',
            "sh",
            info.command,
          ],
          { stdio: "pipe" },
        );
        stream.pipe(child.stdin);
        child.stdout.pipe(stream, { end: false });
        child.stderr.pipe(stream.stderr, { end: false });
        child.on("close", (code) => {
          stream.exit(code ?? 1);
          stream.end();
        });
      }),
    );
    client.on("error", () => undefined);
  });
}

/** A loopback TCP server; `onSocket` decides what connection n (1 for the first) gets. */
async function listen(onSocket: (socket: Socket, n: number) => void): Promise<number> {
  let n = 0;
  const server = createServer((socket) => onSocket(socket, ++n));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as AddressInfo).port;
}

let dir: string;
let inventoryFile: string;
beforeAll(() => {
  dir = tempDir("enroll-contact");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "id_ed25519")]);
  inventoryFile = join(dir, "hosts.yml");
  writeFileSync(
    inventoryFile,
    "ssh_key: id_ed25519\nknown_hosts: known_hosts\ngroups:\n  hub:\n    hosts:\n      hub: { address: 127.0.0.1, port: 9, os: debian }\n",
  );
});

const request = (port: number): ContactRequest => ({
  inventoryFile,
  address: "127.0.0.1",
  port,
  group: "uplinks",
  noun: "router",
});

describe("enrollment's first contact", () => {
  it("a router slow in SSH (it accepts TCP, then stalls) is tried again, says so, and is enrolled once it answers", async () => {
    const held: Socket[] = [];
    const server = sshd();
    const port = await listen((s, n) => (n === 1 ? held.push(s) : server.injectSocket(s)));
    const log: string[] = [];
    const outcomes: string[] = [];
    const { identity, facts } = await firstContact(request(port), (l) => log.push(l), {
      connectPolicy: quick,
      onAttempt: (t) => outcomes.push(t.outcome),
    });
    held.forEach((s) => s.destroy());
    expect(outcomes).toEqual(["ssh-timeout", "ready"]);
    expect(log).toContainEqual(
      "127.0.0.1 accepted the connection but did not finish the SSH handshake within 0.3 s (a router that has just booted is slow for a minute): trying again, allowing 0.6 s",
    );
    expect(identity).toMatchObject({ kind: "new", name: "uplink-1" });
    expect(facts.os).toMatch(/^(debian|openwrt)$/);
  });

  it("a key seen by an attempt that then timed out is decided once: one new node, one pin, no 'finishing its enrollment'", async () => {
    const server = sshd((n) => n === 1);
    const port = await listen((s) => server.injectSocket(s));
    const log: string[] = [];
    const outcomes: string[] = [];
    const { identity } = await firstContact({ ...request(port), name: "uplink-7" }, (l) => log.push(l), {
      connectPolicy: quick,
      onAttempt: (t) => outcomes.push(t.outcome),
    });
    expect(outcomes).toEqual(["ssh-timeout", "ready"]);
    expect(identity).toMatchObject({ kind: "new", name: "uplink-7" });
    expect(log.filter((l) => l.includes("seen for the first time"))).toHaveLength(1);
    expect(log.join("\n")).not.toMatch(/finishing its enrollment/);
    expect(readFileSync(join(dir, "known_hosts"), "utf8").match(/^uplink-7 /gm)).toHaveLength(1);
  });

  it("a router that never finishes the handshake is 'slow, not down' after every attempt, with what to do", async () => {
    const held: Socket[] = [];
    const port = await listen((s) => held.push(s));
    const log: string[] = [];
    const err = await firstContact(request(port), (l) => log.push(l), {
      connectPolicy: { ...quick, attempts: 2 },
    }).catch((e: unknown) => e);
    held.forEach((s) => s.destroy());
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(/^cannot reach the router: .*slow, not down: it accepted TCP/);
    expect((err as UserError).hint).toMatch(/wait a minute and run the same command again/);
    expect(log.filter((l) => l.includes("trying again"))).toHaveLength(1);
    expect(held).toHaveLength(2);
  });

  it("a refused port is down at once: one attempt, no retry, and what to check", async () => {
    const port = await listen(() => undefined);
    await new Promise<void>((r) => servers.pop()!.close(() => r()));
    const log: string[] = [];
    const outcomes: string[] = [];
    const started = performance.now();
    const err = await firstContact(request(port), (l) => log.push(l), {
      connectPolicy: quick,
      onAttempt: (t) => outcomes.push(t.outcome),
    }).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(quick.handshakeTimeoutMs);
    expect(outcomes).toEqual(["tcp-refused"]);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(
      /^cannot reach the router: .*down: 127\.0\.0\.1 answered but refused a connection to port \d+ \(ECONNREFUSED\): no SSH server listens there; check the port/,
    );
    expect(log.join("\n")).not.toMatch(/trying again/);
  });

  it("through a dial (the lab's laptop namespaces), each attempt dials anew", async () => {
    const held: Socket[] = [];
    const server = sshd();
    const port = await listen((s, n) => (n === 1 ? held.push(s) : server.injectSocket(s)));
    const dialled: string[] = [];
    const dial = (host: string, p: number) =>
      new Promise<Socket>((resolve, reject) => {
        dialled.push(`${host}:${p}`);
        const s = netConnect({ host, port: p });
        s.once("connect", () => resolve(s)).once("error", reject);
      });
    const { identity } = await firstContact({ ...request(port), name: "uplink-8" }, () => undefined, {
      connectPolicy: quick,
      dial,
    });
    held.forEach((s) => s.destroy());
    expect(dialled).toEqual([`127.0.0.1:${port}`, `127.0.0.1:${port}`]);
    expect(identity.name).toBe("uplink-8");
  });
});
