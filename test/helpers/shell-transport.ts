// The runner's transport to a real local shell, as a target would run it: dash, or BusyBox ash with only OpenWrt's
// applets on PATH. The engine's state dir (/etc/meshisp) is moved into a temp dir, so tests need no root and share nothing.
import { raw, type Command } from "../../lib/command.ts";
import { STATE_DIR } from "../../lib/facts/host.ts";
import { LocalTransport } from "../../lib/transport/local.ts";
import type { RunResult, Transport } from "../../lib/transport/types.ts";
import { openwrtPath } from "../openwrt-shell.ts";

export type ShellKind = "dash" | "busybox";
export const SHELL_KINDS: readonly ShellKind[] = ["dash", "busybox"];

let owrt: string | undefined;
/** One directory of OpenWrt's applets per test file (symlinks to /bin/busybox). */
const openwrtApplets = () => (owrt ??= openwrtPath());

export interface ShellTransportOptions {
  /** Directories put before the shell's own PATH (a fake opkg, say). */
  extraPath?: string[];
  /** Where /etc/meshisp is moved to. */
  stateDir: string;
}

/** A Transport whose commands run under `kind`; run() is the real LocalTransport's, put/get are unused by the runner. */
export function shellTransport(kind: ShellKind, options: ShellTransportOptions): Transport {
  const path = [
    ...(options.extraPath ?? []),
    kind === "busybox" ? openwrtApplets() : "/usr/sbin:/usr/bin:/sbin:/bin",
  ].join(":");
  const argv = kind === "busybox" ? ["/bin/busybox", "ash"] : ["/bin/dash"];
  const local = new LocalTransport({ argv, env: { PATH: path }, target: `${kind}@local` });
  const moved = (text: string) => text.replaceAll(STATE_DIR, options.stateDir);
  return {
    get target() {
      return local.target;
    },
    get roundTrips() {
      return local.roundTrips;
    },
    run(command: Command, runOptions: { stdin?: string | Buffer; timeoutMs?: number } = {}): Promise<RunResult> {
      return local.run(raw(moved(command.render())), {
        ...runOptions,
        stdin: runOptions.stdin === undefined ? undefined : moved(runOptions.stdin.toString()),
      });
    },
    put: (path, content, putOptions) => local.put(moved(path), content, putOptions),
    get: (path) => local.get(moved(path)),
    close: () => local.close(),
  };
}
