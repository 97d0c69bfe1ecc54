// Transport over one ssh2 connection per host: commands as exec channels, files streamed to a temp file then renamed.
import { randomBytes, createHash } from "node:crypto";
import { connect as netConnect } from "node:net";
import { posix } from "node:path";
import type { Duplex } from "node:stream";
import { Client, type ClientChannel, type ConnectConfig } from "ssh2";
import { sh, type Command } from "../command.ts";
import { TransportError, UserError } from "../errors.ts";
import { authMessage, downMessage, jumpDownMessage, protocolMessage, type ConnectContext } from "./advice.ts";
import {
  DEFAULT_POLICY,
  decide,
  handshakeTimeoutMs,
  slowMessage,
  tcpOutcome,
  type ConnectPolicy,
  type Outcome,
} from "./connect-policy.ts";
import { deadline } from "./deadline.ts";
import { HandshakeGate } from "./handshake-gate.ts";
import { changedKeyMessage, checkHostKey, pinHostKey } from "./known-hosts.ts";
import { readLoginKey } from "./ssh-key.ts";
import type { PutOptions, RunResult, Transport } from "./types.ts";

export interface SshOptions {
  host: string;
  port?: number;
  user?: string;
  /** Path of the private key to log in with (read and checked here: a bad key is a UserError, not a crash). */
  keyFile?: string;
  /** The private key itself, already checked (a session reads it once for every host: lib/transport/ssh-key.ts). */
  privateKey?: Buffer;
  /** For a router's first contact; never logged. */
  password?: string;
  knownHostsFile: string;
  /**
   * The node name its host key is pinned under (never the address: ten routers at 192.168.8.1 are ten nodes); or, for
   * enrollment, a function that decides the name from the presented key (it pins it itself, or throws to refuse).
   */
  pinName: string | ((key: Buffer) => string | Promise<string>);
  /** Where the old code pinned this host (knownHostsName form): a line there with the same key is taken over under the name. */
  legacyAddress?: string;
  /** An open stream to the SSH server (a dialled connection) for the first attempt, instead of a TCP connect. */
  sock?: Duplex;
  /**
   * Opens a new stream to the SSH server for each attempt (a channel through a jump host, a dial from a namespace),
   * bounded by the connect timeout itself; default: a TCP connect from here. Its failure means the host is down:
   * a rejection with a `code` (node:net's), `timedOut: true` or `outcome` says how.
   */
  dial?: () => Promise<Duplex>;
  /** The target's name in messages, e.g. "uplink-2 via hub (root@10.0.4.66)"; default user@host[:port]. */
  label?: string;
  /** Called once when a new host key is recorded (trust on first use), or an old address pin is taken over: say it loudly. */
  onNewHostKey?: (message: string) => void;
  /**
   * false (--check): a key seen for the first time is trusted for this connection only and nothing is written;
   * onNewHostKey says which key it would pin. Default true.
   */
  pinNewKeys?: boolean;
  /** Told of each key a --check run would pin (pinNewKeys false). */
  onWouldPin?: (pin: { name: string; keyType: string; fingerprint: string }) => void;
  /** What the messages for a failed connection may say beyond the address (lib/transport/advice.ts). */
  advice?: Pick<ConnectContext, "node" | "via" | "network" | "passwordOption" | "keyFile">;
  /** The TCP connect's timeout (default 10 s); the handshake's are the policy's. */
  connectTimeoutMs?: number;
  /** Handshake timeouts and attempts for a host that accepts TCP but is slow in SSH (default: DEFAULT_POLICY). */
  policy?: ConnectPolicy;
  /** The session's bound on attempts in flight; default: none. */
  gate?: HandshakeGate;
  /** Told how each attempt went (the benchmark reads where the time went). */
  onAttempt?: (timing: AttemptTiming) => void;
}

/** One connection attempt, phase by phase (milliseconds). */
export interface AttemptTiming {
  target: string;
  attempt: number;
  /** Waiting for a place in the gate. */
  queuedMs: number;
  /** The TCP connect (or the dial: a jump host's forward). */
  tcpMs: number;
  /** From the handshake's start to the end of the key exchange (server's version line, KEXINIT, ECDH, NEWKEYS). */
  kexMs?: number;
  /** From the end of the key exchange to the accepted login. */
  authMs?: number;
  outcome: Outcome | "ready";
  /** What ssh2 and the server agreed on: the key exchange and the cipher (client to server). */
  kex?: string;
  cipher?: string;
}

const UNBOUNDED = new HandshakeGate(Number.MAX_SAFE_INTEGER);

/** One attempt's handshake that did not succeed: retryable (slow, busy), or `final` (an error to give up with). */
class HandshakeFailure extends Error {
  constructor(
    readonly outcome: Outcome,
    readonly final?: Error,
  ) {
    super(outcome);
  }
}

/** A TCP connect from here, bounded by the connect timeout. */
function tcpConnect(host: string, port: number, timeoutMs: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port });
    const cancel = deadline(timeoutMs, () => {
      socket.destroy();
      reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { timedOut: true }));
    });
    socket.once("connect", () => {
      cancel();
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once("error", (err) => {
      cancel();
      reject(err);
    });
  });
}

const dialOutcome = (err: Error & { outcome?: Outcome; timedOut?: boolean }): Outcome =>
  err.outcome ?? tcpOutcome(err, err.timedOut === true);

/**
 * The error for a host whose TCP connect failed, in words with what to check; a dial's own TransportError keeps its
 * target ("uplink-2 via hub"), and its cause (node:net's error, a jump host's refused forward) says what happened.
 */
function downError(target: string, err: Error, outcome: Outcome, ctx: ConnectContext): Error {
  if (err instanceof UserError) return err;
  const cause = (err instanceof TransportError && err.cause instanceof Error ? err.cause : err) as Error & {
    code?: unknown;
  };
  // A jump host's forward: its own words name the hop ("could not open a TCP connection from hub to ..."), kept.
  if (err instanceof TransportError && ctx.via)
    return new TransportError(
      err.target,
      jumpDownMessage(err.message.slice(err.target.length + 2), outcome, ctx, cause),
      err.unreachable,
    );
  const message = `could not connect: ${downMessage(outcome, ctx, cause)}`;
  if (err instanceof TransportError) return new TransportError(err.target, message, err.unreachable);
  return new TransportError(target, message, true);
}

/** What the messages of one connection may say about it. */
function contextOf(options: SshOptions, port: number, user: string): ConnectContext {
  return {
    address: options.host,
    port,
    user,
    passwordGiven: options.password !== undefined,
    timeoutMs: options.connectTimeoutMs ?? 10_000,
    ...options.advice,
  };
}

/** ssh2 refuses more than a few concurrent channels per connection on OpenSSH (MaxSessions 10): queue the rest. */
const MAX_CHANNELS = 8;

export class SshTransport implements Transport {
  readonly target: string;
  roundTrips = 0;
  #client: Client;
  #busy = 0;
  #waiting: (() => void)[] = [];
  #closed = false;

  /** Made by SshTransport.connect (its handshake), never directly. */
  constructor(client: Client, target: string) {
    this.#client = client;
    this.target = target;
  }

  /**
   * Opens the connection: a TCP connect (or `dial`), then the SSH handshake, inside the session's handshake gate.
   * A host that never accepts TCP is down at once; one that accepts TCP but is slow in SSH is tried again with more
   * time (connect-policy.ts); each attempt's deadline starts when its handshake starts, not while it waits its turn.
   */
  static async connect(options: SshOptions): Promise<SshTransport> {
    const port = options.port ?? 22;
    const user = options.user ?? "root";
    const target = options.label ?? `${user}@${options.host}${port === 22 ? "" : `:${port}`}`;
    // A caller's longer connect timeout (a path of several jumps over the mesh) is the first handshake's time too.
    const policy = options.policy ?? {
      ...DEFAULT_POLICY,
      handshakeTimeoutMs: Math.max(DEFAULT_POLICY.handshakeTimeoutMs, options.connectTimeoutMs ?? 0),
    };
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    // Parsed once for every attempt (and checked: a bad key file is a UserError, not a failure per attempt).
    const privateKey =
      options.privateKey ?? (options.keyFile ? readLoginKey(options.keyFile, `${target}: key file`).key : undefined);
    // A stream handed over (enrollment's first hop) serves one attempt only: there is no way to open another.
    let given = options.sock;
    const dial = options.dial ?? (given ? undefined : () => tcpConnect(options.host, port, connectTimeoutMs));
    let last: Outcome = "ssh-timeout";
    for (let attempt = 1, timeoutMs = handshakeTimeoutMs(policy, 1); ; attempt++) {
      const queuedAt = performance.now();
      const result = await (options.gate ?? UNBOUNDED).run(async (): Promise<SshTransport | Outcome> => {
        const timing: AttemptTiming = {
          target,
          attempt,
          queuedMs: performance.now() - queuedAt,
          tcpMs: 0,
          outcome: "ready",
        };
        const dialStart = performance.now();
        let sock: Duplex;
        if (given) [sock, given] = [given, undefined];
        else if (dial) {
          try {
            sock = await dial();
          } catch (err) {
            timing.outcome = dialOutcome(err as Error);
            timing.tcpMs = performance.now() - dialStart;
            options.onAttempt?.(timing);
            throw downError(target, err as Error, timing.outcome, contextOf(options, port, user));
          }
        } else return "ssh-closed";
        timing.tcpMs = performance.now() - dialStart;
        try {
          return await handshake(options, { target, user, port, privateKey, sock, timeoutMs, timing });
        } catch (err) {
          if (!(err instanceof HandshakeFailure)) throw err;
          timing.outcome = err.outcome;
          if (err.final) throw err.final;
          return err.outcome;
        } finally {
          options.onAttempt?.(timing);
        }
      });
      if (result instanceof SshTransport) return result;
      last = result;
      const next = decide(result, attempt, policy);
      if (next.action === "give-up" || (!dial && !given)) {
        throw new TransportError(target, slowMessage(policy, attempt, last), true);
      }
      timeoutMs = next.timeoutMs;
    }
  }

  /**
   * A TCP connection opened from this host to host:port (SSH's direct-tcpip, OpenSSH's ProxyJump), for the next hop.
   * OpenWrt's dropbear allows it by default: it is built with DROPBEAR_SVR_LOCALTCPFWD, and OpenWrt's
   * /etc/init.d/dropbear (package/network/services/dropbear/files/dropbear.init, read at openwrt/openwrt 037b721f)
   * validates `LocalPortForward:bool:1` and passes -j (no local forwarding) only when /etc/config/dropbear sets
   * LocalPortForward '0', which the default config does not. Not counted against MAX_CHANNELS: OpenSSH's
   * MaxSessions limits sessions, not forwarded channels.
   */
  forward(host: string, port: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(new TransportError(this.target, "connection already closed"));
      this.#client.forwardOut("127.0.0.1", 0, host, port, (err, channel) =>
        err
          ? reject(
              new TransportError(
                this.target,
                `could not open a TCP connection from there to ${host}:${port}: ${err.message}`,
              ),
            )
          : resolve(channel),
      );
    });
  }

  async #channel<T>(work: () => Promise<T>): Promise<T> {
    if (this.#busy >= MAX_CHANNELS) await new Promise<void>((r) => this.#waiting.push(r));
    this.#busy++;
    try {
      return await work();
    } finally {
      this.#busy--;
      this.#waiting.shift()?.();
    }
  }

  run(command: Command, options: { stdin?: string | Buffer; timeoutMs?: number } = {}): Promise<RunResult> {
    return this.#channel(
      () =>
        new Promise<RunResult>((resolve, reject) => {
          if (this.#closed) return reject(new TransportError(this.target, "connection already closed"));
          this.roundTrips++;
          this.#client.exec(command.render(), (err, stream: ClientChannel) => {
            if (err) return reject(new TransportError(this.target, `could not run a command: ${err.message}`));
            const out: Buffer[] = [];
            const errOut: Buffer[] = [];
            let code: number | null = null;
            const timer = options.timeoutMs
              ? setTimeout(() => {
                  stream.close();
                  reject(
                    new TransportError(
                      this.target,
                      `command timed out after ${options.timeoutMs} ms: ${command.describe()}`,
                      false,
                    ),
                  );
                }, options.timeoutMs)
              : undefined;
            stream.on("data", (d: Buffer) => out.push(d));
            stream.stderr.on("data", (d: Buffer) => errOut.push(d));
            stream.on("exit", (c: number | null) => (code = c));
            stream.on("close", () => {
              clearTimeout(timer);
              if (code === null && this.#closed)
                return reject(new TransportError(this.target, "connection lost while a command ran"));
              resolve({
                code: code ?? 255,
                stdout: Buffer.concat(out).toString("utf8"),
                stderr: Buffer.concat(errOut).toString("utf8"),
              });
            });
            if (options.stdin !== undefined) stream.end(options.stdin);
            else stream.end();
          });
        }),
    );
  }

  async put(path: string, content: string | Buffer, options: PutOptions = {}): Promise<void> {
    const data = typeof content === "string" ? Buffer.from(content) : content;
    const tmp = posix.join(posix.dirname(path), `.${posix.basename(path)}.meshisp-${randomBytes(4).toString("hex")}`);
    const hash = createHash("sha256").update(data).digest("hex");
    // The hash check stops a stream cut short from ever replacing the target.
    const owner = options.owner ? `${options.owner}${options.group ? `:${options.group}` : ""}` : "";
    const script = sh`umask 077; cat > ${tmp} && [ "$(sha256sum < ${tmp} | cut -d' ' -f1)" = ${hash} ] && chmod ${(options.mode ?? 0o644).toString(8)} ${tmp}${owner ? sh` && chown ${owner} ${tmp}` : sh``} && mv -f ${tmp} ${path} || { rc=$?; rm -f ${tmp}; exit $rc; }`;
    const result = await this.run(script, { stdin: data });
    if (result.code !== 0)
      throw new TransportError(
        this.target,
        `could not write ${path} (exit ${result.code}): ${result.stderr.trim()}`,
        false,
      );
  }

  async get(path: string): Promise<Buffer> {
    const result = await this.run(sh`cat ${path}`);
    if (result.code !== 0)
      throw new TransportError(this.target, `could not read ${path}: ${result.stderr.trim()}`, false);
    return Buffer.from(result.stdout, "utf8");
  }

  /** Cuts the connection at once, as a pulled cable would (tests use it). */
  destroy(): void {
    this.#closed = true;
    (this.#client as unknown as { _sock?: { destroy(): void } })._sock?.destroy();
    this.#client.destroy();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await new Promise<void>((resolve) => {
      this.#client.once("close", () => resolve());
      this.#client.end();
      setTimeout(resolve, 1_000).unref();
    });
  }
}

interface Attempt {
  target: string;
  user: string;
  port: number;
  privateKey?: Buffer;
  sock: Duplex;
  timeoutMs: number;
  timing: AttemptTiming;
}

/**
 * One SSH handshake (key exchange, host key check, login) on an open stream, within `timeoutMs` from now. ssh2's own
 * readyTimeout is off: it would count the TCP connect too. ssh2's defaults already put the cheapest algorithms first
 * (curve25519-sha256 and ssh-ed25519 through node:crypto, AES-GCM and chacha20-poly1305 through its native binding).
 */
function handshake(options: SshOptions, a: Attempt): Promise<SshTransport> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let refusal: Error | undefined;
    let settled = false;
    const start = performance.now();
    const fail = (failure: HandshakeFailure) => {
      if (settled) return;
      settled = true;
      cancel();
      a.sock.destroy();
      client.destroy();
      reject(failure);
    };
    const cancel = deadline(a.timeoutMs, () => fail(new HandshakeFailure("ssh-timeout")));
    const config = {
      host: options.host,
      port: a.port,
      username: a.user,
      readyTimeout: 0,
      keepaliveInterval: 5_000,
      keepaliveCountMax: 3,
      sock: a.sock,
      // Asynchronous (ssh2 waits for `verify`): enrollment decides the name under the inventory's lock.
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
        void (async () => {
          const name = typeof options.pinName === "string" ? options.pinName : await options.pinName(key);
          const verdict = checkHostKey(options.knownHostsFile, { name, legacyAddress: options.legacyAddress }, key);
          if (verdict.kind === "known") return true;
          if ((verdict.kind === "new" || verdict.kind === "migrated") && options.pinNewKeys === false) {
            // --check changes nothing anywhere, known_hosts included: trusted for this run only, said loudly.
            options.onWouldPin?.({ name, keyType: verdict.keyType, fingerprint: verdict.fingerprint });
            options.onNewHostKey?.(
              verdict.kind === "new"
                ? `${a.target}: first contact (check mode): trusted its ${verdict.keyType} host key ${verdict.fingerprint} for this run only; a real run pins it as ${name} in ${options.knownHostsFile}`
                : `${a.target}: ${options.knownHostsFile}:${verdict.line} pins this ${verdict.keyType} key ${verdict.fingerprint} by address (${verdict.address}); a real run pins it as ${name} (check mode: not written)`,
            );
            return true;
          }
          if (verdict.kind === "new" || verdict.kind === "migrated") {
            pinHostKey(options.knownHostsFile, name, key);
            options.onNewHostKey?.(
              verdict.kind === "new"
                ? `${a.target}: first contact, pinned its ${verdict.keyType} host key ${verdict.fingerprint} as ${name} in ${options.knownHostsFile}`
                : `${a.target}: ${options.knownHostsFile}:${verdict.line} pinned this ${verdict.keyType} key ${verdict.fingerprint} by address (${verdict.address}, as older versions did); pinned it as ${name} now`,
            );
            return true;
          }
          refusal = new TransportError(a.target, changedKeyMessage(name, options.knownHostsFile, verdict), false);
          return false;
        })().then(verify, (err: Error) => {
          // The caller's refusal (enrollment's UserError) reaches the installer as it is.
          refusal =
            err instanceof TransportError || err instanceof UserError
              ? err
              : new TransportError(a.target, err.message, false);
          verify(false);
        });
      },
    } as ConnectConfig;
    if (a.privateKey) config.privateKey = a.privateKey;
    if (options.password !== undefined) {
      config.password = options.password;
      config.tryKeyboard = true;
    }
    client.on("keyboard-interactive", (_name, _instructions, _lang, prompts, finish) =>
      finish(prompts.map(() => options.password ?? "")),
    );
    client.once("handshake", (negotiated) => {
      a.timing.kexMs = performance.now() - start;
      a.timing.kex = negotiated.kex;
      a.timing.cipher = negotiated.cs.cipher;
    });
    client.once("ready", () => {
      if (settled) return client.end();
      settled = true;
      cancel();
      a.timing.authMs = performance.now() - start - (a.timing.kexMs ?? 0);
      resolve(new SshTransport(client, a.target));
    });
    // `on`, not `once`: ssh2 can report a second error as it tears down (a lost stream after a timeout).
    client.on("error", (err: Error & { level?: string }) => {
      if (refusal) return fail(new HandshakeFailure("host-key-refused", refusal));
      if (err.level === "client-authentication") {
        return fail(
          new HandshakeFailure(
            "auth-refused",
            new TransportError(a.target, authMessage(contextOf(options, a.port, a.user)), false),
          ),
        );
      }
      // A handshake-level error is a disagreement (no common algorithm, not an SSH server): another try changes nothing.
      // ssh2 files a stream closed under it at that level too ("Connection lost before handshake"): that one is busy.
      if ((err.level === "handshake" || err.level === "protocol") && !/connection lost/i.test(err.message)) {
        return fail(
          new HandshakeFailure(
            "ssh-protocol",
            new TransportError(a.target, protocolMessage(contextOf(options, a.port, a.user), err.message), true),
          ),
        );
      }
      fail(new HandshakeFailure("ssh-closed"));
    });
    // A stream that ends before the login (a busy server hanging up) is a closed attempt, not a wait for the deadline.
    client.once("close", () => fail(new HandshakeFailure("ssh-closed")));
    client.connect(config);
  });
}
