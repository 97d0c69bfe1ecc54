// Playbook: relay nodes, for uplinks and clients behind CGNAT or hard NAT that cannot punch through to each other.
import { runPlaybook } from "../lib/cli.ts";
import { openInventoryCa } from "../lib/pki/passphrase.ts";
import { mergeRecaps } from "../lib/runner/report.ts";
import type { CertAuthority } from "../roles/nebula/identity.ts";
import { tagsOf } from "../lib/play.ts";
import { certificatesPlay, relayPlay, settleRegister } from "./plays.ts";

await runPlaybook({
  command: "tasks/deploy-relay.ts",
  summary: "Deploys Nebula relays (group relays): nodes that cannot reach each other directly talk through them.",
  help: "\nThe CA passphrase comes from MESH_CA_PASSPHRASE, or is asked for.\n",
  tags: tagsOf(relayPlay(undefined as unknown as CertAuthority), certificatesPlay()),
  needsHub: true,
  async run(session) {
    const ca = await openInventoryCa(session.inventory);
    const recaps = await session.run(relayPlay(ca));
    await settleRegister(session, ca, console.log);
    const hub = session.inventory.groups.hub?.length ? await session.run(certificatesPlay()) : [];
    return mergeRecaps(recaps, hub);
  },
});
