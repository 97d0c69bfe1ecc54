// The dns role: the hub's DNS cache (dnsmasq) that answers local and mesh names with the internet cut, and caches the rest.
import { sh } from "../../lib/command.ts";
import type { Role } from "../../lib/play.ts";
import { UserError } from "../../lib/errors.ts";
import { directory } from "../../lib/resources/directory.ts";
import { file } from "../../lib/resources/file.ts";
import { packages } from "../../lib/resources/package.ts";
import { restartHandler, service } from "../../lib/resources/service.ts";
import { renderTemplate } from "../../lib/template.ts";
import { dockerDefaults } from "../docker/defaults.ts";
import { dnsDefaults } from "./defaults.ts";
import { dnsVarsOf, renderDnsFiles } from "./records.ts";

const RELOAD_IN_STACK = "reload the stack's dns";

/** True when the compose stack, not the native service, runs dnsmasq (see defaults.ts). */
const composeRunsDns = (vars: Record<string, unknown>): boolean => vars.docker_enabled === true;

export const dnsRole: Role = {
  name: "dns",
  defaults: dnsDefaults,
  tasks(ctx) {
    const v = dnsVarsOf(ctx);
    if (!v.dns_enabled) return [];
    if (ctx.os !== "debian")
      throw new UserError(
        `${ctx.host.name}: the DNS cache runs on a Debian hub, not on ${ctx.os}`,
        "set dns_enabled: false for this host",
      );
    const { dir, conf, hosts } = renderDnsFiles(ctx);
    const native = !composeRunsDns(ctx.vars);
    const notify = native ? [`restart ${v.dns_service}`] : [RELOAD_IN_STACK];
    const files = [
      packages({ names: [v.dns_tools_package], os: ctx.os }),
      directory({ path: dir, mode: "0755" }),
      file({ path: `${dir}/dnsmasq.conf`, content: conf, notify }),
      file({ path: `${dir}/mesh.hosts`, content: hosts, notify }),
    ];
    // The compose stack runs it: the native service must not hold the same addresses.
    if (!native)
      return [...files, service({ name: v.dns_service, init: ctx.facts.init, enabled: false, state: "stopped" })];
    const systemd = ctx.facts.init === "systemd";
    return [
      packages({ names: [v.dns_package], os: ctx.os }),
      ...files,
      systemd
        ? file({
            path: `/etc/systemd/system/${v.dns_service}.service`,
            content: renderTemplate("dns/mesh-dns.service.hbs", v),
            notify,
          })
        : file({
            path: `/etc/init.d/${v.dns_service}`,
            content: renderTemplate("dns/mesh-dns.init.hbs", v),
            mode: "0755",
            notify,
          }),
      service({ name: v.dns_service, init: ctx.facts.init }),
    ];
  },
  handlers: (ctx) => [
    restartHandler(dnsVarsOf(ctx).dns_service, ctx.facts.init),
    // dnsmasq re-reads mesh.hosts on SIGHUP; a new dnsmasq.conf recreates the container (roles/docker's config hash).
    {
      name: RELOAD_IN_STACK,
      command: sh`docker ps -q --filter ${`label=com.docker.compose.project=${(ctx.vars.docker_project as string | undefined) ?? dockerDefaults.docker_project}`} --filter label=com.docker.compose.service=dns | xargs -r docker kill -s HUP`,
    },
  ],
};
