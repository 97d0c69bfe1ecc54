// The shaping role: the mesh's traffic through an uplink never exceeds what its volunteer donated, in either direction; the home's own traffic is never touched.
import type { Role } from "../../lib/play.ts";
import { file } from "../../lib/resources/file.ts";
import { packages } from "../../lib/resources/package.ts";
import { restartHandler, service } from "../../lib/resources/service.ts";
import { htbCap } from "../../lib/resources/tc-htb.ts";
import { ifbDevice } from "../../lib/resources/tc-ifb.ts";
import { ingressRedirect } from "../../lib/resources/tc-ingress.ts";
import { renderTemplate } from "../../lib/template.ts";
import { uplinkShaping } from "./caps.ts";
import { shapingDefaults } from "./defaults.ts";
import { shapingOsVars } from "./os.ts";
import { shapingScript } from "./script.ts";

export const shapingRole: Role = {
  name: "shaping",
  defaults: shapingDefaults,
  tasks(ctx) {
    const s = uplinkShaping(ctx);
    const v = s.vars;
    const wait = v.shaping_device_wait_seconds;
    const restart = [`restart ${v.shaping_service}`];
    const os = shapingOsVars(ctx.facts);
    const unit = {
      script: v.shaping_script,
      mesh_device: s.meshDevice,
      nebula_service: (ctx.vars.nebula_service as string | undefined) ?? "nebula-mesh",
    };
    return [
      // One install (one `opkg update`) for tc and, unless turned off, iperf3 for scripts/test-shaping.ts.
      packages({
        names: [...os.shaping_packages, ...(v.shaping_iperf3 ? [os.shaping_iperf3_package] : [])],
        os: ctx.os,
      }),
      // Only the Nebula device and its IFB are shaped: the home's traffic leaves by other devices and is never capped.
      ifbDevice({ name: s.ifbDevice }),
      htbCap({ device: s.download.device, rateBit: s.download.rateBit, leaf: s.download.leaf, waitSeconds: wait }),
      htbCap({ device: s.upload.device, rateBit: s.upload.rateBit, leaf: s.upload.leaf, waitSeconds: wait }),
      ingressRedirect({ device: s.meshDevice, to: s.ifbDevice, waitSeconds: wait }),
      // Nebula's device is new after every restart, crash or reboot: a watcher puts the caps back (after the above, so it never races them on a first run).
      shapingScript(s, restart),
      ctx.facts.init === "systemd"
        ? file({
            path: `/etc/systemd/system/${v.shaping_service}.service`,
            content: renderTemplate("shaping/shaping.service.hbs", unit),
            notify: restart,
          })
        : file({
            path: `/etc/init.d/${v.shaping_service}`,
            content: renderTemplate("shaping/shaping.init.hbs", unit),
            mode: "0755",
            notify: restart,
          }),
      service({ name: v.shaping_service, init: ctx.facts.init }),
    ];
  },
  handlers: (ctx) => [
    restartHandler((ctx.vars.shaping_service as string | undefined) ?? shapingDefaults.shaping_service, ctx.facts.init),
  ],
};
