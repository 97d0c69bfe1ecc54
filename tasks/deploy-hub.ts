// Playbook: the hub (Nebula lighthouse + relay, forwarding, its view of the uplinks), then every node already enrolled.
import { runPlaybook } from "../lib/cli.ts";
import { openInventoryCa, RunPassphrase } from "../lib/pki/passphrase.ts";
import { openServiceSecrets } from "../lib/secrets/service-secrets.ts";
import { tagsOf } from "../lib/play.ts";
import type { CertAuthority } from "../roles/nebula/identity.ts";
import { certificatesPlay, clientPlay, deployMesh, hubPlay, relayPlay, uplinkPlay } from "./plays.ts";

// The plays' roles, named without their CA (tags are role names): for --tags checks before anything is opened.
const NO_CA = undefined as unknown as CertAuthority;

await runPlaybook({
  command: "tasks/deploy-hub.ts",
  summary:
    "Deploys the hub: Nebula lighthouse and relay, forwarding, the list of uplinks; then converges relays, uplinks and clients.",
  options: { "init-ca": { type: "boolean" }, "hub-only": { type: "boolean" } },
  tags: tagsOf(hubPlay(NO_CA), relayPlay(NO_CA), uplinkPlay(NO_CA), clientPlay(NO_CA), certificatesPlay()),
  needsHub: true,
  help: `
  --init-ca              create the mesh CA beside the inventory if there is none (asks for a new passphrase)
  --hub-only             only the hub, not the relays, uplinks and clients
The CA passphrase comes from MESH_CA_PASSPHRASE, or is asked for.
`,
  async run(session, args) {
    // One passphrase per run: asked (or read from MESH_CA_PASSPHRASE) for the CA, kept in memory for the secrets.
    const passphrase = new RunPassphrase();
    const ca = await openInventoryCa(session.inventory, { create: !!args["init-ca"], check: !!args.check, passphrase });
    // The hub's container stack needs its service secrets (sealed with the CA's passphrase) only where it is enabled.
    const stack = session.inventory.hosts.some((h) => h.group === "hub" && h.vars.docker_enabled === true);
    const secrets = stack
      ? await openServiceSecrets(session.inventory, { check: !!args.check, passphrase })
      : undefined;
    return deployMesh(session, ca, { secrets, hubOnly: !!args["hub-only"], log: console.log });
  },
});
