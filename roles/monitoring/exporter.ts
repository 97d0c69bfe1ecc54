// The node exporter of each mesh node: Debian's prometheus-node-exporter, or OpenWrt's Lua exporter, on the mesh address.
import { sh } from "../../lib/command.ts";
import { pathFact } from "../../lib/facts/files.ts";
import type { HostContext } from "../../lib/play.ts";
import { file } from "../../lib/resources/file.ts";
import { packages } from "../../lib/resources/package.ts";
import type { Handler, Resource } from "../../lib/resources/resource.ts";
import { restartHandler, service } from "../../lib/resources/service.ts";
import { renderTemplate } from "../../lib/template.ts";
import type { MonitoringVars } from "./defaults.ts";
import { debianMonitoring, openwrtExporter } from "./os.ts";
import { daemonRunner } from "./daemon.ts";

const RESTART_EXPORTER = "restart node exporter";

/**
 * A package that says it is installed without its program (a broken feed, or the lab's stand-in feed, which has no
 * Lua) must not pass as an exporter: the run fails here, saying so, instead of enabling a service that is not there.
 */
export function exporterPresent(bin: string, pkg: string): Resource {
  const stat = pathFact(bin);
  const message = `${pkg} is installed but ${bin} is not there: this package feed does not carry a working exporter. Install it from the OpenWrt feed, or set monitoring_node_exporter: false for this host.`;
  return {
    name: `Check that ${pkg} brought ${bin}`,
    facts: [stat],
    plan(read) {
      if (read(stat).exists) return null;
      return {
        commands: [sh`if [ ! -x ${bin} ]; then echo ${message} >&2; exit 1; fi`],
        summary: "verify the installed exporter",
      };
    },
  };
}

export function exporterTasks(ctx: HostContext, v: MonitoringVars): Resource[] {
  const listen = `${ctx.host.meshIp}:${v.monitoring_node_exporter_port}`;
  if (ctx.os === "openwrt") {
    const o = openwrtExporter;
    const uci = renderTemplate("monitoring/prometheus-node-exporter-lua.uci.hbs", {
      listen_interface: v.monitoring_openwrt_listen_interface,
      port: v.monitoring_node_exporter_port,
    });
    return [
      packages({ names: [o.package], os: ctx.os }),
      exporterPresent(o.bin, o.package),
      file({ path: o.uciFile, content: uci, notify: [RESTART_EXPORTER] }),
      service({ name: o.service, init: ctx.facts.init }),
    ];
  }
  const d = debianMonitoring(ctx.facts.init);
  const args = [`--web.listen-address=${listen}`, `--collector.textfile.directory=${d.textfileDir}`];
  return [
    packages({ names: [d.packages.nodeExporter], os: ctx.os }),
    ...daemonRunner(ctx, {
      unit: d.packages.nodeExporter,
      service: d.service.nodeExporter,
      bin: d.bin.nodeExporter,
      args,
      description: "the node exporter",
      notify: [RESTART_EXPORTER],
    }),
    service({ name: d.service.nodeExporter, init: ctx.facts.init }),
  ];
}

export function exporterHandlers(ctx: HostContext): Handler[] {
  const name = ctx.os === "openwrt" ? openwrtExporter.service : debianMonitoring(ctx.facts.init).service.nodeExporter;
  return [restartHandler(name, ctx.facts.init, RESTART_EXPORTER)];
}
