// After a reboot the kernel has forgotten tunnels, rules, routes, nftables and tc: a boot script puts them back.
// It is the role's own plan for an empty host (nothing read, everything created), so boot and converge agree; a run
// of the runner afterwards finds nothing to change.
import { sh } from "../../lib/command.ts";
import type { FactReader } from "../../lib/facts/fact.ts";
import type { InitSystem } from "../../lib/facts/host.ts";
import { guardedCommand } from "../../lib/resources/command.ts";
import { file } from "../../lib/resources/file.ts";
import type { Resource } from "../../lib/resources/resource.ts";
import { renderTemplate } from "../../lib/template.ts";
import type { BootAware } from "./qos.ts";

const BOOT_SERVICE = "meshisp-routing";
const BOOT_SCRIPT = "/etc/meshisp/routing-boot.sh";

/** What a freshly booted host reports: no links of ours, no rules, no routes, no table, no qdiscs. */
const emptyHost: FactReader = (fact) => fact.parse({ stdout: "", code: 0 });

/** The commands that set `resources` up on an empty host (a resource that cannot plan without reading the host and has no bootCommands is left to the runner). */
export function bootCommands(resources: Resource[]): string[] {
  const lines: string[] = [];
  for (const r of resources) {
    if ("bootCommands" in r) {
      lines.push(`# ${r.name}`, ...(r as BootAware).bootCommands());
      continue;
    }
    let plan;
    try {
      plan = r.plan(emptyHost);
    } catch {
      lines.push(`# (${r.name}: left to the next run of the runner; it needs the host's state)`);
      continue;
    }
    if (plan?.commands.length) lines.push(`# ${r.name}`, ...plan.commands.map((c) => c.render()));
  }
  return lines;
}

/** The boot script, its service (a oneshot after Nebula) and the service enabled at boot. */
export function bootResources(resources: Resource[], init: InitSystem, nebulaService: string): Resource[] {
  const vars = { script: BOOT_SCRIPT, nebula_service: nebulaService, commands: bootCommands(resources).join("\n") };
  return [
    file({ path: BOOT_SCRIPT, content: renderTemplate("routing/routing-boot.sh.hbs", vars), mode: "0755" }),
    init === "systemd"
      ? file({
          path: `/etc/systemd/system/${BOOT_SERVICE}.service`,
          content: renderTemplate("routing/routing-boot.service.hbs", vars),
        })
      : file({
          path: `/etc/init.d/${BOOT_SERVICE}`,
          content: renderTemplate("routing/routing-boot.init.hbs", vars),
          mode: "0755",
        }),
    init === "systemd"
      ? guardedCommand({
          name: `Enable ${BOOT_SERVICE} at boot`,
          command: sh`systemctl daemon-reload && systemctl enable ${BOOT_SERVICE}`,
          unless: sh`systemctl is-enabled --quiet ${BOOT_SERVICE}`,
          provides: { bootService: BOOT_SERVICE },
        })
      : guardedCommand({
          name: `Enable ${BOOT_SERVICE} at boot`,
          command: sh`${`/etc/init.d/${BOOT_SERVICE}`} enable`,
          unless: sh`${`/etc/init.d/${BOOT_SERVICE}`} enabled`,
          provides: { bootService: BOOT_SERVICE },
        }),
  ];
}
