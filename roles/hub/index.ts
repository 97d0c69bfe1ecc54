// The hub role: what the hub knows of the mesh around it (its uplinks, with their donated bandwidth).
import { varsOf, type Role } from "../../lib/play.ts";
import { directory } from "../../lib/resources/directory.ts";
import { file } from "../../lib/resources/file.ts";
import { renderTemplate } from "../../lib/template.ts";

export const hubRole: Role = {
  name: "hub",
  defaults: { hub_state_dir: "/etc/meshisp" },
  tasks(ctx) {
    const uplinks = ctx.inventory.hosts
      .filter((h) => h.group === "uplinks")
      .map((h) => {
        const bw = (varsOf(ctx, h).bandwidth ?? {}) as { up_mbit?: number; down_mbit?: number };
        return { name: h.name, mesh_ip: h.meshIp, up_mbit: bw.up_mbit ?? 0, down_mbit: bw.down_mbit ?? 0 };
      });
    const dir = ctx.vars.hub_state_dir as string;
    return [
      directory({ path: dir }),
      file({ path: `${dir}/uplinks.conf`, content: renderTemplate("hub/uplinks.conf.hbs", { uplinks }) }),
    ];
  },
};
