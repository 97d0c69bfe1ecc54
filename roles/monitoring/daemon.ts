// How a Debian-packaged daemon gets its arguments: /etc/default/<package> for the package's systemd unit, or an init script of our own.
import { sh } from "../../lib/command.ts";
import type { InitSystem } from "../../lib/facts/host.ts";
import type { HostContext } from "../../lib/play.ts";
import { file } from "../../lib/resources/file.ts";
import type { Handler, Resource } from "../../lib/resources/resource.ts";
import { renderTemplate } from "../../lib/template.ts";

export interface DaemonSpec {
  /** The Debian package (its unit and /etc/default file carry this name). */
  unit: string;
  /** The service the role runs: the package's unit under systemd, our own init script otherwise. */
  service: string;
  bin: string;
  /** Arguments without spaces or quotes (flags with values): they go through $ARGS and procd's word splitting. */
  args: string[];
  description: string;
  notify: string[];
}

export function daemonRunner(ctx: HostContext, d: DaemonSpec): Resource[] {
  for (const a of d.args)
    if (/[\s"'$`\\]/.test(a))
      throw new Error(`argument ${JSON.stringify(a)} of ${d.unit} may not hold spaces or quotes`);
  const vars = { description: d.description, args: d.args.join(" "), command: [d.bin, ...d.args].join(" ") };
  return ctx.facts.init === "systemd"
    ? [
        file({
          path: `/etc/default/${d.unit}`,
          content: renderTemplate("monitoring/default.hbs", vars),
          notify: d.notify,
        }),
      ]
    : [
        file({
          path: `/etc/init.d/${d.service}`,
          content: renderTemplate("monitoring/service.init.hbs", vars),
          mode: "0755",
          notify: d.notify,
        }),
      ];
}

/** Prometheus and Alertmanager re-read their configuration on SIGHUP: systemd's reload sends it; procd-style scripts restart. */
export const reloadHandlerFor = (service: string, init: InitSystem, name: string): Handler => ({
  name,
  command: init === "systemd" ? sh`systemctl reload-or-restart ${service}` : sh`${`/etc/init.d/${service}`} restart`,
});
