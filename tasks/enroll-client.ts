// Playbook for installers (or the member): enroll a member's Debian machine as a mesh client. Asks for what it needs, or takes flags.
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { UserError } from "../lib/errors.ts";
import { loadInventory } from "../lib/inventory/load.ts";
import { exitCode, formatRecap } from "../lib/runner/report.ts";
import { enrollClient, type ClientEnrollRequest } from "./enroll/client.ts";
import { CLIENT_FIELDS as F, CLIENT_HINT, checkClientFlags } from "./enroll/client-flags.ts";
import { runEnrollment, type EnrollmentState } from "./enroll/command.ts";
import { KeptAnswers } from "./enroll/kept-answers.ts";
import { openEnrollmentCa } from "./enroll/open-ca.ts";
import { Questions } from "./enroll/prompt.ts";
import { Terminal } from "./enroll/terminal.ts";
import { checkEnrollInventory } from "./enroll/uplink-flags.ts";

const HELP = `Enrolls a member's Debian machine (12 or later) as a client node of the mesh.

Usage: npx tsx tasks/enroll-client.ts --address ADDR [options]      (asks for anything not given, on a terminal)

Run it from a laptop on the machine's home LAN (or with the machine brought to the kitchen, on the kitchen LAN).
Enrollment reaches the machine over SSH as root (by the laptop's key; on first contact with root's password, which
Debian's OpenSSH accepts only with PermitRootLogin yes: else put the laptop's public key in /root/.ssh/authorized_keys
first), recognises it by its SSH host key (a machine enrolled before keeps its name and mesh address), adds it to the
inventory in group clients with the next free client address, installs Nebula with a certificate from the mesh CA
(its private key is made in memory and goes straight to the machine), checks that it pings the hub over the mesh and
records the certificate in the CA's register. From then on the kitchen manages it at its mesh address, through the hub.

  -i, --inventory FILE      inventory to add the node to (default inventory/pilot/hosts.yml)
      --address ADDR        the machine's address on its LAN (e.g. 192.168.1.23)
      --port N              its SSH port (default 22)
      --password            ask for root's password (first contact; or set CLIENT_PASSWORD)
      --name NAME           node name for a new machine (default client-N, the next free one)
      --member NAME         the member's name
      --contact TEXT        the member's phone or e-mail
      --location TEXT       where the machine is (optional)
      --internet-via-mesh   send the machine's internet through the mesh (the hub, then the volunteers' uplinks)
                            instead of the member's own line; it starts once the hub's certificate carries the
                            internet (at once if it does, else at the kitchen's next tasks/deploy-hub.ts)
  -h, --help                this text

Secrets come from the environment or a prompt, never from flags: MESH_CA_PASSPHRASE, CLIENT_PASSWORD.
On a terminal, the CA's passphrase is asked first (again if wrong, 3 tries), then every answer not given as a flag,
again with the reason if it is not right. The answers are kept in <inventory>.enroll-client-answers.json (never a
password) until the enrollment completes, and offered as defaults by the next run within a day. Ctrl-C stops it (130).
Re-running the same command after any failure finishes the job. Exit codes: 0 done, 1 bad input or a step failed
(the message says what to do).`;

async function main(state: EnrollmentState): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        inventory: { type: "string", short: "i", default: "inventory/pilot/hosts.yml" },
        address: { type: "string" },
        port: { type: "string" },
        password: { type: "boolean" },
        name: { type: "string" },
        member: { type: "string" },
        contact: { type: "string" },
        location: { type: "string" },
        "internet-via-mesh": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UserError((err as Error).message, CLIENT_HINT);
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  // Every flag given, the inventory, its key, the CA and its passphrase: checked before anything is asked, and
  // everything before the machine is contacted.
  checkClientFlags(values);
  const inventoryFile = resolve(values.inventory!);
  const inventory = loadInventory(inventoryFile);
  checkEnrollInventory(inventory, "machine");
  const terminal = Terminal.open();
  const ca = await openEnrollmentCa(inventory, terminal);

  // The questions, each asked until its answer is right; answers are kept beside the inventory until the end.
  const q = new Questions(values, terminal, terminal && KeptAnswers.load(inventoryFile, "enroll-client"), CLIENT_HINT);
  state.kept = q.kept;
  const address = await q.need(F.address);
  const name = await q.need(F.member);
  const contact = await q.need(F.contact);
  const location = await q.answer(F.location);
  const request: ClientEnrollRequest = {
    inventoryFile,
    address,
    port: q.flagOnly(F.port),
    name: q.flagOnly(F.name),
    member: { name, contact, ...(location ? { location } : {}) },
    internetViaMesh: !!values["internet-via-mesh"],
  };
  if (values.password)
    request.password = await q.secret("The machine's root password: ", "CLIENT_PASSWORD", "--password");
  else if (process.env.CLIENT_PASSWORD) request.password = process.env.CLIENT_PASSWORD;

  const result = await enrollClient(request, ca, (line) => console.log(line), { output: "listr" });
  console.log(`\nRECAP\n${formatRecap(result.recaps)}\n\n${result.summary.join("\n")}`);
  return exitCode(result.recaps);
}

runEnrollment(main);
