// A run of a playbook: the inventory, one SSH connection per host reused by every play, and the hosts run concurrently.
import type { Duplex } from "node:stream";
import type { Host, Inventory } from "../inventory/types.ts";
import { selectHosts } from "../inventory/select.ts";
import type { Play } from "../play.ts";
import type { ConnectPolicy } from "../transport/connect-policy.ts";
import { withDeadline } from "../transport/deadline.ts";
import { DEFAULT_HANDSHAKES, HandshakeGate } from "../transport/handshake-gate.ts";
import { SshTransport, type AttemptTiming, type SshOptions } from "../transport/ssh.ts";
import type { Transport } from "../transport/types.ts";
import { TransportError, UserError } from "../errors.ts";
import { knownHostsName } from "../transport/known-hosts.ts";
import { inventoryLoginKey, type LoginKey } from "../transport/ssh-key.ts";
import { runHost, type RunOptions } from "./host-run.ts";
import { progressKind, runHosts } from "./progress.ts";
import { RecordingReporter, type HostRecap, type Reporter } from "./report.ts";

export interface SessionOptions extends RunOptions {
  forks?: number;
  limit?: string;
  /** Passwords for first contact, by host name (never logged). */
  passwords?: Record<string, string>;
  /** "listr" draws progress on a terminal and plain lines elsewhere (progress.ts); "silent" only records (tests). */
  output?: "listr" | "silent";
  /** A TCP connect's timeout, also the least time a handshake gets (default 10 s; lib/transport/connect-policy.ts). */
  connectTimeoutMs?: number;
  /** Handshake timeouts and attempts for hosts that accept TCP but are slow in SSH (default: connect-policy.ts). */
  connectPolicy?: ConnectPolicy;
  /** Connection attempts in flight at most, whatever `forks` is (default DEFAULT_HANDSHAKES). */
  maxHandshakes?: number;
  /** Per-host additions to the messages of a failed connection (enrollment: the router's LAN, --password). */
  advice?: Record<string, SshOptions["advice"]>;
  /** Told how each connection attempt went, phase by phase (the benchmark). */
  onAttempt?: (timing: AttemptTiming) => void;
  /**
   * How the first hop's TCP connection is made (default: node:net from this machine). The lab's laptop namespaces
   * give one that starts inside the namespace, where a maintainer's or installer's laptop would be.
   */
  dial?: (host: string, port: number) => Promise<Duplex>;
  /**
   * Per-host overrides of the path for this session only, by host name: enrollment reaches the new router at the LAN
   * address the installer gave (`via: null`: directly, whatever the inventory says) and the hub through that router.
   */
  reach?: Record<string, ReachOverride>;
}

export interface ReachOverride {
  address?: string;
  port?: number;
  /** A host name to jump through, or null for a direct connection; absent: the inventory's `ssh_via`. */
  via?: string | null;
}

/** Where one hop goes: an address and port, directly or through another host's connection. */
export interface Route {
  address: string;
  port: number;
  via?: string;
}

/** A host's route in this session: its override, else the inventory (address or mesh IP, `ssh_via`). */
export function routeOf(host: Host, reach: SessionOptions["reach"] = {}): Route {
  const o = reach[host.name];
  const via = o && "via" in o ? (o.via ?? undefined) : host.via;
  return { address: o?.address ?? host.address, port: o?.port ?? host.port, ...(via ? { via } : {}) };
}

/** A host key a --check run saw for the first time: trusted for that run, and what a real run would pin. */
export interface WouldPin {
  name: string;
  keyType: string;
  fingerprint: string;
  file: string;
}

export class Session {
  readonly reporter = new RecordingReporter();
  /** Under --check: every new host key seen, for the run's last words (nothing was written). */
  readonly wouldPin: WouldPin[] = [];
  /** By host name, with the host it is reached through (a jump host closes after the hosts reached through it). */
  readonly #connections = new Map<string, { via?: string; connection: Promise<SshTransport> }>();

  /** Read and checked once, before any host is dialled: a bad key is one UserError, not a failure per host. */
  readonly #key: LoginKey | undefined;

  /** One bound on connection attempts for the whole run, jump hosts included. */
  readonly #gate: HandshakeGate;

  constructor(
    readonly inventory: Inventory,
    readonly options: SessionOptions = {},
  ) {
    this.#key = inventoryLoginKey(inventory);
    this.#gate = new HandshakeGate(options.maxHandshakes ?? DEFAULT_HANDSHAKES);
  }

  /** The one connection to a host for this run (opened on first use); a jump host's connection is shared the same way. */
  connect(host: Host): Promise<Transport> {
    return this.#connect(host, []);
  }

  #connect(host: Host, chain: string[]): Promise<SshTransport> {
    if (chain.includes(host.name)) {
      throw new UserError(
        `the path to ${chain[0]} loops: ${[...chain, host.name].join(" via ")}`,
        "check ssh_via in the inventory and the session's reach overrides",
      );
    }
    let entry = this.#connections.get(host.name);
    if (!entry) {
      entry = { via: routeOf(host, this.options.reach).via, connection: this.#open(host, chain) };
      this.#connections.set(host.name, entry);
      // A failed connection is not cached: a later play may retry it.
      const failed = entry;
      failed.connection.catch(() => this.#connections.get(host.name) === failed && this.#connections.delete(host.name));
    }
    return entry.connection;
  }

  async #open(host: Host, chain: string[]): Promise<SshTransport> {
    const route = routeOf(host, this.options.reach);
    const user = `${host.user}@${route.address}${route.port === 22 ? "" : `:${route.port}`}`;
    const label = route.via ? `${host.name} via ${route.via} (${user})` : user;
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    let dial: (() => Promise<Duplex>) | undefined;
    if (route.via) {
      const jumpHost = this.inventory.hosts.find((h) => h.name === route.via);
      if (!jumpHost)
        throw new UserError(
          `${host.name} is to be reached via ${route.via}, which is not a host of ${this.inventory.file}`,
        );
      // The jump host's connection first, outside the gate: an attempt holding a place while it waits for its jump
      // host's turn could hold every place.
      let jump: SshTransport;
      try {
        jump = await this.#connect(jumpHost, [...chain, host.name]);
      } catch (err) {
        if (err instanceof UserError) throw err;
        throw new TransportError(
          `${host.name} via ${route.via}`,
          `cannot reach ${route.via}: ${(err as Error).message}`,
          (err as TransportError).unreachable ?? true,
        );
      }
      // Bounded like a direct connect: a jump host's TCP connect to a silent address (a router whose radio link is
      // down, an unused mesh IP: Nebula drops the SYNs) would otherwise wait for its kernel's SYN retries, minutes.
      const what = `could not open a TCP connection from ${route.via} to ${route.address}:${route.port}`;
      dial = () =>
        withDeadline(
          jump.forward(route.address, route.port),
          timeoutMs,
          `${what}: no answer within ${timeoutMs} ms`,
          destroy,
        ).catch((err: Error & { timedOut?: boolean }) => {
          throw Object.assign(new TransportError(`${host.name} via ${route.via}`, err.message), {
            timedOut: err.timedOut,
            cause: err,
          });
        });
    } else if (this.options.dial) {
      const first = this.options.dial;
      dial = () =>
        withDeadline(first(route.address, route.port), timeoutMs, `no answer within ${timeoutMs} ms`, destroy).catch(
          (err: Error & { timedOut?: boolean; code?: string }) => {
            throw Object.assign(new TransportError(user, `could not connect: ${err.message}`), {
              timedOut: err.timedOut,
              code: err.code,
              cause: err,
            });
          },
        );
    }
    return SshTransport.connect({
      host: route.address,
      port: route.port,
      user: host.user,
      privateKey: this.#key?.key,
      password: this.options.passwords?.[host.name],
      knownHostsFile: this.inventory.knownHosts,
      pinName: host.name,
      // The old code pinned the inventory's address: such a line with the same key is taken over, said once.
      legacyAddress: knownHostsName(host.address, host.port),
      dial,
      label,
      connectTimeoutMs: timeoutMs,
      policy: this.options.connectPolicy,
      gate: this.#gate,
      onAttempt: this.options.onAttempt,
      onNewHostKey: (message) => this.#notice(host.name, message),
      // --check writes nothing anywhere: a new key is trusted for this run and listed (wouldPin), not pinned.
      pinNewKeys: !this.options.check,
      onWouldPin: (pin) => this.wouldPin.push({ ...pin, file: this.inventory.knownHosts }),
      advice: {
        node: host.name,
        via: route.via,
        keyFile: this.inventory.sshKey,
        ...this.options.advice?.[host.name],
      },
    });
  }

  #liveReporters = new Map<string, Reporter>();
  #notice(host: string, message: string) {
    (this.#liveReporters.get(host) ?? this.reporter).notice(host, message);
  }

  /** Runs a play on its hosts (after --limit), `forks` at a time; after an abort (Ctrl-C), no host starts. */
  async run(play: Play): Promise<HostRecap[]> {
    const hosts = selectHosts(this.inventory, play.hosts, this.options.limit);
    if (this.options.signal?.aborted) return [];
    return runHosts(
      {
        title: play.name,
        hosts,
        forks: Math.max(1, this.options.forks ?? 20),
        record: this.reporter,
        runOne: (host, reporter) =>
          runHost(play, host, this.inventory, () => this.connect(host), this.options, reporter),
        showsNotices: (host, reporter) => this.#liveReporters.set(host, reporter),
        signal: this.options.signal,
      },
      progressKind(this.options.output),
    );
  }

  /** Closes every connection, those reached through a jump host before the jump host's own (their tunnels run in it). */
  async close(): Promise<void> {
    const open = new Map(this.#connections);
    this.#connections.clear();
    while (open.size) {
      const jumps = new Set([...open.values()].map((e) => e.via));
      const leaves = [...open].filter(([name]) => !jumps.has(name));
      const batch = leaves.length ? leaves : [...open];
      await Promise.all(batch.map(([, e]) => e.connection.then((t) => t.close()).catch(() => undefined)));
      for (const [name] of batch) open.delete(name);
    }
  }
}

/** A stream that arrives after the timeout is destroyed: nobody will read it, and it would hold a channel or socket open. */
const destroy = (stream: Duplex) => stream.destroy();
