// Transport over one ssh2 connection per host: commands as exec channels, files streamed to a temp file then renamed.
import { randomBytes, createHash } from "node:crypto";
import { posix } from "node:path";
import type { Duplex } from "node:stream";
import { Client, type ClientChannel, type ConnectConfig } from "ssh2";
import { sh, type Command } from "../command.ts";
import { TransportError, UserError } from "../errors.ts";
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
  /** An open stream to the SSH server (a channel through a jump host, or a dialled connection) instead of a TCP connect. */
  sock?: Duplex;
  /** The target's name in messages, e.g. "uplink-2 via hub (root@10.0.4.66)"; default user@host[:port]. */
  label?: string;
  /** Called once when a new host key is recorded (trust on first use), or an old address pin is taken over: say it loudly. */
  onNewHostKey?: (message: string) => void;
  connectTimeoutMs?: number;
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

  private constructor(client: Client, target: string) {
    this.#client = client;
    this.target = target;
  }

  static connect(options: SshOptions): Promise<SshTransport> {
    const port = options.port ?? 22;
    const user = options.user ?? "root";
    const target = options.label ?? `${user}@${options.host}${port === 22 ? "" : `:${port}`}`;
    return new Promise((resolve, reject) => {
      const client = new Client();
      let refusal: Error | undefined;
      const config = {
        host: options.host,
        port,
        username: user,
        readyTimeout: options.connectTimeoutMs ?? 10_000,
        keepaliveInterval: 5_000,
        keepaliveCountMax: 3,
        ...(options.sock ? { sock: options.sock } : {}),
        // Asynchronous (ssh2 waits for `verify`): enrollment decides the name under the inventory's lock.
        hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
          void (async () => {
            const name = typeof options.pinName === "string" ? options.pinName : await options.pinName(key);
            const verdict = checkHostKey(options.knownHostsFile, { name, legacyAddress: options.legacyAddress }, key);
            if (verdict.kind === "known") return true;
            if (verdict.kind === "new" || verdict.kind === "migrated") {
              pinHostKey(options.knownHostsFile, name, key);
              options.onNewHostKey?.(
                verdict.kind === "new"
                  ? `${target}: first contact, pinned its ${verdict.keyType} host key ${verdict.fingerprint} as ${name} in ${options.knownHostsFile}`
                  : `${target}: ${options.knownHostsFile}:${verdict.line} pinned this ${verdict.keyType} key ${verdict.fingerprint} by address (${verdict.address}, as older versions did); pinned it as ${name} now`,
              );
              return true;
            }
            refusal = new TransportError(target, changedKeyMessage(name, options.knownHostsFile, verdict), false);
            return false;
          })().then(verify, (err: Error) => {
            // The caller's refusal (enrollment's UserError) reaches the installer as it is.
            refusal = err instanceof TransportError || err instanceof UserError ? err : new TransportError(target, err.message, false);
            verify(false);
          });
        },
      } as ConnectConfig;
      if (options.privateKey) config.privateKey = options.privateKey;
      else if (options.keyFile) config.privateKey = readLoginKey(options.keyFile, `${target}: key file`).key;
      if (options.password !== undefined) {
        config.password = options.password;
        config.tryKeyboard = true;
      }
      client.on("keyboard-interactive", (_name, _instructions, _lang, prompts, finish) =>
        finish(prompts.map(() => options.password ?? "")),
      );
      client.once("ready", () => resolve(new SshTransport(client, target)));
      client.once("error", (err: Error & { level?: string; code?: string }) => {
        options.sock?.destroy();
        if (refusal) return reject(refusal);
        const why =
          err.level === "client-authentication"
            ? "login refused (wrong key or password; for a router's first contact, pass its password)"
            : err.level === "client-timeout"
              ? "no answer (timed out connecting)"
              : err.message;
        reject(new TransportError(target, why, err.level !== "client-authentication"));
      });
      client.connect(config);
    });
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
        err ? reject(new TransportError(this.target, `could not open a TCP connection from there to ${host}:${port}: ${err.message}`)) : resolve(channel),
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
                  reject(new TransportError(this.target, `command timed out after ${options.timeoutMs} ms: ${command.display()}`, false));
                }, options.timeoutMs)
              : undefined;
            stream.on("data", (d: Buffer) => out.push(d));
            stream.stderr.on("data", (d: Buffer) => errOut.push(d));
            stream.on("exit", (c: number | null) => (code = c));
            stream.on("close", () => {
              clearTimeout(timer);
              if (code === null && this.#closed) return reject(new TransportError(this.target, "connection lost while a command ran"));
              resolve({ code: code ?? 255, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(errOut).toString("utf8") });
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
    if (result.code !== 0) throw new TransportError(this.target, `could not write ${path} (exit ${result.code}): ${result.stderr.trim()}`, false);
  }

  async get(path: string): Promise<Buffer> {
    const result = await this.run(sh`cat ${path}`);
    if (result.code !== 0) throw new TransportError(this.target, `could not read ${path}: ${result.stderr.trim()}`, false);
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
