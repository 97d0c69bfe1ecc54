// The benchmark's small playbook, as DESIGN.md's Ansible figure has it: 3 templates, a guarded command, a line, a handler.
import { sh } from "../../lib/command.ts";
import type { Role } from "../../lib/play.ts";
import { directory } from "../../lib/resources/directory.ts";
import { file } from "../../lib/resources/file.ts";
import { guardedCommand } from "../../lib/resources/command.ts";
import { lineInFile } from "../../lib/resources/line.ts";
import { renderTemplate } from "../../lib/template.ts";

export const benchRole: Role = {
  name: "bench",
  defaults: { bench_network: "10.0.4.0/16", bench_peers: ["10.0.4.1", "10.0.4.33"] },
  tasks(ctx) {
    const vars = { ...ctx.vars, host_name: ctx.host.name };
    return [
      directory({ path: "/etc/bench" }),
      ...["a", "b", "c"].map((f) =>
        file({
          path: `/etc/bench/${f}.conf`,
          content: renderTemplate(`bench/${f}.conf.hbs`, vars),
          notify: ["reload bench"],
        }),
      ),
      guardedCommand({
        name: "Initialise the bench state",
        command: sh`date > /etc/bench/initialised`,
        creates: "/etc/bench/initialised",
      }),
      lineInFile({ path: "/etc/bench/settings", line: "mode = community", match: /^mode\s*=/ }),
    ];
  },
  handlers: () => [{ name: "reload bench", command: sh`date > /etc/bench/reloaded` }],
};
