// Playbook for installers (or the member): enroll a member's Debian machine as a mesh client. Asks for what it needs, or takes flags.
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { reportError } from "../lib/cli.ts";
import { UserError } from "../lib/errors.ts";
import { loadInventory } from "../lib/inventory/load.ts";
import { openInventoryCa } from "../lib/pki/passphrase.ts";
import { exitCode, formatRecap } from "../lib/runner/report.ts";
import { enrollClient, type ClientEnrollRequest } from "./enroll/client.ts";
import { checkAddress, checkClientFlags, checkName, checkPort, checkText } from "./enroll/client-flags.ts";
import { asker, readPasswordPrompt } from "./enroll/prompt.ts";

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
Re-running the same command after any failure finishes the job. Exit codes: 0 done, 1 bad input or a step failed
(the message says what to do).`;

async function main(): Promise<number> {
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
    throw new UserError((err as Error).message, "run npx tsx tasks/enroll-client.ts --help");
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  // Every flag given is checked before anything is asked, and everything before the machine is contacted.
  checkClientFlags(values);
  const inventoryFile = resolve(values.inventory!);
  loadInventory(inventoryFile);
  const rl = process.stdin.isTTY ? createInterface({ input: process.stdin, output: process.stderr }) : undefined;
  const ask = asker(values, rl, "tasks/enroll-client.ts");
  const request: ClientEnrollRequest = {
    inventoryFile,
    address: checkAddress(await ask("address", "The machine's address on its LAN")),
    port: values.port ? checkPort(values.port) : undefined,
    name: values.name ? checkName(values.name) : undefined,
    member: {
      name: checkText(await ask("member", "Member's name"), "member", "the member's name"),
      contact: checkText(await ask("contact", "Member's phone or e-mail"), "contact", "the member's phone or e-mail"),
    },
    internetViaMesh: !!values["internet-via-mesh"],
  };
  const location = values.location ?? (rl ? await ask("location", "Where is the machine (optional)", "-") : undefined);
  if (location && location !== "-") request.member.location = checkText(location, "location", "where the machine is");
  rl?.close();
  if (values.password)
    request.password = process.env.CLIENT_PASSWORD ?? (await readPasswordPrompt("The machine's root password: "));
  else if (process.env.CLIENT_PASSWORD) request.password = process.env.CLIENT_PASSWORD;

  const ca = await openInventoryCa(loadInventory(inventoryFile));
  const result = await enrollClient(request, ca, (line) => console.log(line), { output: "listr" });
  console.log(`\nRECAP\n${formatRecap(result.recaps)}\n\n${result.summary.join("\n")}`);
  return exitCode(result.recaps);
}

main().then(
  (code) => process.exit(code),
  (err) => process.exit(reportError(err)),
);
