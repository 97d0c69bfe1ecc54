// The base role: what every mesh node has (hostname, forwarding, its identity file, a banner).
import { sh } from "../../lib/command.ts";
import type { Role } from "../../lib/play.ts";
import { file } from "../../lib/resources/file.ts";
import { directory } from "../../lib/resources/directory.ts";
import { guardedCommand } from "../../lib/resources/command.ts";
import { lineInFile } from "../../lib/resources/line.ts";
import { sysctl } from "../../lib/resources/sysctl.ts";
import { renderTemplate } from "../../lib/template.ts";
import { baseDefaults } from "./defaults.ts";

export const baseRole: Role = {
  name: "base",
  defaults: baseDefaults,
  tasks(ctx) {
    const name = ctx.host.name;
    const vars = { ...ctx.vars, host: ctx.host, os: ctx.os, mesh_ip: ctx.host.meshIp ?? "none" };
    return [
      guardedCommand({
        name: `Set the hostname to ${name}`,
        command: sh`echo ${name} > /proc/sys/kernel/hostname`,
        unless: sh`[ "$(cat /proc/sys/kernel/hostname)" = ${name} ]`,
      }),
      file({ path: "/etc/hostname", content: `${name}\n` }),
      lineInFile({ path: "/etc/hosts", line: `127.0.1.1 ${name}`, match: /^127\.0\.1\.1\s/ }),
      sysctl({ key: "net.ipv4.ip_forward", value: ctx.vars.base_ip_forward ? 1 : 0 }),
      directory({ path: "/etc/meshisp", mode: "0755" }),
      file({
        path: "/etc/meshisp/node.conf",
        content: renderTemplate("base/node.conf.hbs", vars),
        notify: ["reload node identity"],
      }),
      file({
        path: ctx.os === "openwrt" ? "/etc/banner" : "/etc/motd",
        content: renderTemplate("base/banner.hbs", vars),
      }),
    ];
  },
  handlers: () => [
    // Other services read node.conf at start; this records when the identity last changed.
    { name: "reload node identity", command: sh`date -u +%Y-%m-%dT%H:%M:%SZ > /etc/meshisp/node.conf.applied` },
  ],
};
