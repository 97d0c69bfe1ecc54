// A run of a playbook: the inventory, one SSH connection per host reused by every play, and the hosts run concurrently.
import { homedir } from "node:os";
import { existsSync } from "node:fs";
import { Listr } from "listr2";
import type { Host, Inventory } from "../inventory/types.ts";
import { selectHosts } from "../inventory/select.ts";
import type { Play } from "../play.ts";
import { SshTransport } from "../transport/ssh.ts";
import type { Transport } from "../transport/types.ts";
import { runHost, type RunOptions } from "./host-run.ts";
import { RecordingReporter, type HostRecap, type Reporter, type TaskEvent } from "./report.ts";

export interface SessionOptions extends RunOptions {
  forks?: number;
  limit?: string;
  /** Passwords for first contact, by host name (never logged). */
  passwords?: Record<string, string>;
  /** "listr" draws progress on a TTY and plain lines elsewhere; "silent" only records (tests). */
  output?: "listr" | "silent";
  connectTimeoutMs?: number;
}

export class Session {
  readonly reporter = new RecordingReporter();
  readonly #connections = new Map<string, Promise<Transport>>();

  constructor(readonly inventory: Inventory, readonly options: SessionOptions = {}) {}

  /** The one connection to a host for this run (opened on first use). */
  connect(host: Host): Promise<Transport> {
    let connection = this.#connections.get(host.name);
    if (!connection) {
      const key = this.inventory.sshKey ?? [`${homedir()}/.ssh/id_ed25519`, `${homedir()}/.ssh/id_rsa`].find((k) => existsSync(k));
      connection = SshTransport.connect({
        host: host.address,
        port: host.port,
        user: host.user,
        keyFile: key,
        password: this.options.passwords?.[host.name],
        knownHostsFile: this.inventory.knownHosts,
        connectTimeoutMs: this.options.connectTimeoutMs,
        onNewHostKey: (message) => this.#notice(host.name, message),
      });
      this.#connections.set(host.name, connection);
      // A failed connection is not cached: a later play may retry it.
      connection.catch(() => this.#connections.delete(host.name));
    }
    return connection;
  }

  #liveReporters = new Map<string, Reporter>();
  #notice(host: string, message: string) {
    (this.#liveReporters.get(host) ?? this.reporter).notice(host, message);
  }

  /** Runs a play on its hosts (after --limit), `forks` at a time. */
  async run(play: Play): Promise<HostRecap[]> {
    const hosts = selectHosts(this.inventory, play.hosts, this.options.limit);
    const forks = Math.max(1, this.options.forks ?? 20);
    const runOne = (host: Host, reporter: Reporter) => runHost(play, host, this.inventory, () => this.connect(host), this.options, reporter);

    if (this.options.output !== "listr") {
      const recaps: HostRecap[] = [];
      const queue = [...hosts];
      await Promise.all(
        Array.from({ length: Math.min(forks, queue.length) }, async () => {
          for (let host = queue.shift(); host; host = queue.shift()) recaps.push(await runOne(host, this.reporter));
        }),
      );
      return order(recaps, hosts);
    }

    const recaps: HostRecap[] = [];
    const list = new Listr(
      hosts.map((host) => ({
        title: `${play.name}: ${host.name}`,
        task: async (_ctx: unknown, task: { title: string; output: string }) => {
          const reporter: Reporter = {
            task: (e: TaskEvent) => {
              this.reporter.task(e);
              if (e.status !== "ok") task.output = lineFor(e);
            },
            notice: (h, m) => {
              this.reporter.notice(h, m);
              task.output = `NOTICE ${m}`;
            },
            hostDone: (r) => {
              this.reporter.hostDone(r);
              recaps.push(r);
            },
          };
          this.#liveReporters.set(host.name, reporter);
          const recap = await runOne(host, reporter);
          task.title = `${play.name}: ${host.name} ${recap.unreachable ? "UNREACHABLE" : recap.failed ? "FAILED" : recap.changed ? `changed=${recap.changed}` : "ok"}`;
          if (recap.failed || recap.unreachable) throw new Error(recap.error ?? "failed");
        },
      })),
      {
        concurrent: forks,
        exitOnError: false,
        renderer: process.stdout.isTTY ? "default" : "simple",
        fallbackRenderer: "simple",
        rendererOptions: { collapseSubtasks: false, showErrorMessage: false, persistentOutput: true },
        silentRendererCondition: false,
      } as never,
    );
    await list.run().catch(() => undefined);
    return order(recaps, hosts);
  }

  async close(): Promise<void> {
    const all = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.all(all.map((c) => c.then((t) => t.close()).catch(() => undefined)));
  }
}

const order = (recaps: HostRecap[], hosts: Host[]) => hosts.map((h) => recaps.find((r) => r.host === h.name)!).filter(Boolean);

export function lineFor(e: TaskEvent): string {
  const head = `${e.status.toUpperCase()} ${e.task}${e.summary ? ` (${e.summary})` : ""}`;
  return [head, e.error, e.diff, ...(e.commands ?? []).map((c) => `  $ ${c}`)].filter(Boolean).join("\n");
}
