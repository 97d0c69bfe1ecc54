// The sysupgrade role (OpenWrt): a firmware upgrade keeps only listed paths and no opkg packages, so this lists what
// the mesh needs kept (/lib/upgrade/keep.d/meshisp) and installs a restore service that, on the first boot after the
// upgrade, reinstalls the packages, puts fw4's includes back and starts the services: the node rejoins by itself.
// What is kept and why: keep.ts (keepList), and the comments in the keep file itself.
import { sh } from "../../lib/command.ts";
import { mergeVars } from "../../lib/inventory/vars.ts";
import type { HostContext, Role } from "../../lib/play.ts";
import { guardedCommand } from "../../lib/resources/command.ts";
import { file } from "../../lib/resources/file.ts";
import type { Resource } from "../../lib/resources/resource.ts";
import { renderTemplate } from "../../lib/template.ts";
import { nebulaDefaults } from "../nebula/defaults.ts";
import { FW4_INCLUDE_COPY, FW4_INCLUDE_ROOT } from "../routing/fw4.ts";
import { sysupgradeDefaults, type SysupgradeVars } from "./defaults.ts";
import { footprintOf, keepList, type PlayFootprint } from "./keep.ts";

const RESTORE_SERVICE = "meshisp-restore";
const RESTORE_SCRIPT = "/etc/meshisp/restore.sh";
/** START in templates/sysupgrade/restore.init.hbs: the name of its /etc/rc.d link. */
const RESTORE_START = 99;
const KEEP_FILE = "/lib/upgrade/keep.d/meshisp";
const STATE_DIR = "/etc/meshisp";

/** The other roles' resources, each built with its own defaults under the host's vars (as the runner builds them). */
const resourcesOf = (roles: Role[], ctx: HostContext): Resource[] =>
  roles.flatMap((r) => r.tasks({ ...ctx, vars: mergeVars(r.defaults, ctx.vars) }));

/** The restore script's text; `paths` moves its directories (tests run it in a scratch tree). */
export function restoreScript(
  play: PlayFootprint,
  v: SysupgradeVars,
  paths = { fw4Copy: FW4_INCLUDE_COPY, fw4Root: FW4_INCLUDE_ROOT, initd: "/etc/init.d" },
): string {
  return renderTemplate("sysupgrade/restore.sh.hbs", {
    packages: play.packages.join(" "),
    services: play.services.join(" "),
    boot_service: play.bootServices[0] ?? "",
    deadline: v.sysupgrade_restore_deadline_seconds,
    retry: v.sysupgrade_restore_retry_seconds,
    fw4_copy: paths.fw4Copy,
    fw4_root: paths.fw4Root,
    initd: paths.initd,
  });
}

function sysupgradeResources(ctx: HostContext, others: Role[]): Resource[] {
  if (ctx.os !== "openwrt") return [];
  const v = ctx.vars as SysupgradeVars & Record<string, unknown>;
  const play = footprintOf(resourcesOf(others, ctx));
  const init = `/etc/init.d/${RESTORE_SERVICE}`;
  const script = restoreScript(play, v);
  const keep = keepList({
    self: KEEP_FILE,
    dirs: [STATE_DIR, (v.nebula_dir as string | undefined) ?? nebulaDefaults.nebula_dir],
    files: [...play.files, init],
    restoreLink: `/etc/rc.d/S${RESTORE_START}${RESTORE_SERVICE}`,
  });
  return [
    file({ path: RESTORE_SCRIPT, content: script, mode: "0755" }),
    file({
      path: init,
      content: renderTemplate("sysupgrade/restore.init.hbs", { script: RESTORE_SCRIPT }),
      mode: "0755",
    }),
    guardedCommand({
      name: `Enable ${RESTORE_SERVICE} at boot`,
      command: sh`${init} enable`,
      unless: sh`${init} enabled`,
    }),
    file({ path: KEEP_FILE, content: renderTemplate("sysupgrade/keep.hbs", { paths: keep }) }),
  ];
}

/** Last in a play: `others` are the play's other roles, whose packages, services and files it keeps and restores. */
export const sysupgradeRole = (others: Role[]): Role => ({
  name: "sysupgrade",
  defaults: sysupgradeDefaults,
  tasks: (ctx) => sysupgradeResources(ctx, others),
});
