// A service enabled at boot and running (or stopped): systemd units, or /etc/init.d scripts as OpenWrt's procd has them.
import { sh, type Command } from "../command.ts";
import { serviceFact } from "../facts/system.ts";
import type { InitSystem } from "../facts/host.ts";
import type { Handler, Resource, ResourceOptions } from "./resource.ts";

export interface ServiceSpec extends ResourceOptions {
  name: string;
  init: InitSystem;
  enabled?: boolean;
  state?: "started" | "stopped";
}

const verb = (init: InitSystem, name: string, action: string): Command =>
  init === "systemd" ? sh`systemctl ${action} ${name}` : sh`${`/etc/init.d/${name}`} ${action}`;

export function service(spec: ServiceSpec): Resource {
  const state = serviceFact(spec.name, spec.init);
  const enabled = spec.enabled ?? true;
  const wanted = spec.state ?? "started";
  return {
    name: `${wanted === "started" ? "Run" : "Stop"} service ${spec.name}${enabled ? " at boot" : ""}`,
    provides: wanted === "started" && enabled ? { service: spec.name } : undefined,
    notify: spec.notify,
    tags: spec.tags,
    facts: [state],
    plan(read) {
      const now = read(state);
      const commands: Command[] = [];
      const changes: string[] = [];
      // A unit written by an earlier task in this run is not known to systemd yet.
      if (spec.init === "systemd" && !now.exists) commands.push(sh`systemctl daemon-reload`);
      if (enabled !== now.enabled) {
        commands.push(verb(spec.init, spec.name, enabled ? "enable" : "disable"));
        changes.push(enabled ? "enable" : "disable");
      }
      if ((wanted === "started") !== now.running) {
        commands.push(verb(spec.init, spec.name, wanted === "started" ? "start" : "stop"));
        changes.push(wanted === "started" ? "start" : "stop");
      }
      return changes.length ? { commands, summary: changes.join(", ") } : null;
    },
  };
}

/** The usual handler: restart a service (start it if it was not running). */
export const restartHandler = (name: string, init: InitSystem, handlerName = `restart ${name}`): Handler => ({
  name: handlerName,
  command: init === "systemd" ? sh`systemctl daemon-reload && systemctl restart ${name}` : verb(init, name, "restart"),
});
