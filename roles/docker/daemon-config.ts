// The engine's own settings: /etc/docker/daemon.json from docker_daemon_config, and the engine restarted when it changes.
import { UserError } from "../../lib/errors.ts";
import type { InitSystem } from "../../lib/facts/host.ts";
import { directory } from "../../lib/resources/directory.ts";
import { file } from "../../lib/resources/file.ts";
import type { Handler, Resource } from "../../lib/resources/resource.ts";
import { restartHandler } from "../../lib/resources/service.ts";

export const DAEMON_JSON = "/etc/docker/daemon.json";
export const RESTART_DOCKER = "restart docker";

/** Debian's docker.service runs `dockerd -H fd:// --containerd=...`: dockerd refuses a directive given both ways. */
const SET_BY_DEBIAN_UNIT = ["hosts", "containerd"];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Null-valued keys left out (how an inventory drops a default's key), keys sorted: the same settings, the same bytes. */
function pruned(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pruned);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .filter((k) => value[k] !== null)
      .map((k) => [k, pruned(value[k])]),
  );
}

/** daemon.json's text for a host, or a UserError naming the host and the key. */
export function renderDaemonConfig(hostName: string, config: unknown, init: InitSystem): string {
  if (!isObject(config))
    throw new UserError(
      `${hostName}: docker_daemon_config is ${JSON.stringify(config)}, not a mapping of daemon.json's settings`,
      'write it as a mapping, e.g. docker_daemon_config: { "log-driver": "json-file" }',
    );
  const settings = pruned(config) as Record<string, unknown>;
  const clash = init === "systemd" ? SET_BY_DEBIAN_UNIT.filter((k) => k in settings) : [];
  if (clash.length)
    throw new UserError(
      `${hostName}: docker_daemon_config sets ${clash.join(" and ")}, which Debian's docker.service already passes to dockerd (-H fd://, --containerd): dockerd would refuse to start`,
      `remove ${clash.join(" and ")} from docker_daemon_config (or set ${clash.length > 1 ? "them" : "it"} to null), or change the unit with a systemd drop-in instead`,
    );
  return `${JSON.stringify(settings, null, 2)}\n`;
}

/** The file, in place before the engine's service starts; a change restarts the engine (a handler, so a failed run still does it next time). */
export function daemonConfigResources(hostName: string, config: unknown, init: InitSystem): Resource[] {
  return [
    directory({ path: "/etc/docker", mode: "0755" }),
    file({ path: DAEMON_JSON, content: renderDaemonConfig(hostName, config, init), notify: [RESTART_DOCKER] }),
  ];
}

export const restartDocker = (init: InitSystem): Handler => restartHandler("docker", init, RESTART_DOCKER);
