// Playbook: the base role on every host in the inventory (the engine's end-to-end check before Nebula).
import { runPlaybook } from "../lib/cli.ts";
import { baseRole } from "../roles/base/index.ts";
import { tagsOf } from "../lib/play.ts";

const basePlay = { name: "Prepare every node", hosts: ["all"], roles: [baseRole] };

await runPlaybook({
  command: "tasks/site-base.ts",
  summary: "Sets hostname, forwarding, the node identity file and the login banner on every host.",
  tags: tagsOf(basePlay),
  run: (session) => session.run(basePlay),
});
