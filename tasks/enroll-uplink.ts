// Playbook for field installers: enroll a volunteer's router as an uplink. Asks for what it needs, or takes flags for scripts.
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { UserError } from "../lib/errors.ts";
import { loadInventory } from "../lib/inventory/load.ts";
import { exitCode, formatRecap } from "../lib/runner/report.ts";
import { runEnrollment, type EnrollmentState } from "./enroll/command.ts";
import { enrollUplink, type EnrollRequest } from "./enroll/enroll.ts";
import { KeptAnswers } from "./enroll/kept-answers.ts";
import { openEnrollmentCa } from "./enroll/open-ca.ts";
import { Questions } from "./enroll/prompt.ts";
import { Terminal } from "./enroll/terminal.ts";
import { checkEnrollInventory, checkUplinkFlags, UPLINK_FIELDS as F, UPLINK_HINT } from "./enroll/uplink-flags.ts";

const HELP = `Enrolls a volunteer's router (OpenWrt) as an uplink node of the mesh.

Usage: npx tsx tasks/enroll-uplink.ts [options]      (asks for anything not given, on a terminal)

Plug the laptop into the router's LAN (a cable to a LAN port, or its Wi-Fi). Enrollment reaches the router there,
recognises it by its SSH host key (a router enrolled before keeps its name and mesh address; every GL.iNet router is
192.168.8.1, and each one is its own node), and tells the hub about it through the router, over the mesh. From then on
the inventory manages it at its mesh address, through the hub.

  -i, --inventory FILE      inventory to add the node to (default inventory/pilot/hosts.yml)
      --address ADDR        the router's LAN address (default 192.168.8.1, GL.iNet's; stock OpenWrt's is 192.168.1.1)
      --port N              its SSH port (default 22)
      --password            ask for the router's root password (first contact; or set ROUTER_PASSWORD)
      --set-password        a fresh router has no root password (anyone on its network gets in): ask for one
                            and set it (or set ROUTER_NEW_PASSWORD); on a terminal it is asked anyway
      --name NAME           node name for a new router (default uplink-N, the next free one); refused if it is
                            another router's
      --volunteer NAME      the volunteer's name
      --contact TEXT        the volunteer's phone or e-mail
      --location TEXT       where the router is (optional)
      --up-mbit N           donated upload, Mbit/s
      --down-mbit N         donated download, Mbit/s
      --radio-port DEVICE   the router's port cabled to the home's NanoStation (the radio to the kitchen); without
                            it, the one port with carrier that is in no network interface and no bridge is taken
                            (two such ports: enrollment asks for this flag). It gets the next free address of the
                            hub's radio_subnet, set up in /etc/config/network (kept across a sysupgrade)
      --no-radio            the router has no radio: its tunnel goes over the internet
  -h, --help                this text

Secrets come from the environment or a prompt, never from flags: MESH_CA_PASSPHRASE, ROUTER_PASSWORD,
ROUTER_NEW_PASSWORD.
On a terminal, the CA's passphrase is asked first (again if wrong, 3 tries), then every answer not given as a flag,
again with the reason if it is not right. The answers are kept in <inventory>.enroll-uplink-answers.json (never a
password) until the enrollment completes, and offered as defaults by the next run within a day. Ctrl-C stops it (130).
Re-running the same command after any failure finishes the job. Exit codes: 0 done, 1 bad input or a step
failed (the message says what to do), 4 the hub could not be updated.`;

async function main(state: EnrollmentState): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        inventory: { type: "string", short: "i", default: "inventory/pilot/hosts.yml" },
        address: { type: "string" },
        port: { type: "string" },
        password: { type: "boolean" },
        "set-password": { type: "boolean" },
        name: { type: "string" },
        volunteer: { type: "string" },
        contact: { type: "string" },
        location: { type: "string" },
        "up-mbit": { type: "string" },
        "down-mbit": { type: "string" },
        "radio-port": { type: "string" },
        "no-radio": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UserError((err as Error).message, UPLINK_HINT);
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  // Bad flags, inventory, key, CA or passphrase: found before anything is asked, and long before the router is dialled.
  checkUplinkFlags(values);
  const inventoryFile = resolve(values.inventory!);
  const inventory = loadInventory(inventoryFile);
  checkEnrollInventory(inventory);
  const terminal = Terminal.open();
  const ca = await openEnrollmentCa(inventory, terminal);

  // The questions, each asked until its answer is right; answers are kept beside the inventory until the end.
  const q = new Questions(values, terminal, terminal && KeptAnswers.load(inventoryFile, "enroll-uplink"), UPLINK_HINT);
  state.kept = q.kept;
  const address = await q.need(F.address);
  const name = await q.need(F.volunteer);
  const contact = await q.need(F.contact);
  const location = await q.answer(F.location);
  const request: EnrollRequest = {
    inventoryFile,
    address,
    port: q.flagOnly(F.port),
    name: q.flagOnly(F.name),
    volunteer: { name, contact, ...(location ? { location } : {}) },
    bandwidth: { up_mbit: await q.need(F["up-mbit"]), down_mbit: await q.need(F["down-mbit"]) },
  };
  if (values["radio-port"] !== undefined || values["no-radio"])
    request.radio = { port: values["radio-port"], none: values["no-radio"] };
  if (values.password) request.password = await q.secret("Router root password: ", "ROUTER_PASSWORD", "--password");
  else if (process.env.ROUTER_PASSWORD) request.password = process.env.ROUTER_PASSWORD;
  // Only asked if the router turns out to have no root password; on a terminal an empty answer leaves it blank.
  const setPassword = values["set-password"];
  request.askNewPassword = async () => {
    if (process.env.ROUTER_NEW_PASSWORD) return process.env.ROUTER_NEW_PASSWORD;
    if (!terminal) {
      if (setPassword) throw new UserError("--set-password needs a terminal to ask on, or ROUTER_NEW_PASSWORD");
      return undefined;
    }
    terminal.say("The router has no root password: anyone on the volunteer's network could log in as root.");
    for (;;) {
      const first = await terminal.secret(
        `New root password for the router${setPassword ? "" : " (empty: leave it blank)"}: `,
      );
      if (!first && !setPassword) return undefined;
      if (first && (await terminal.secret("The same again: ")) === first) return first;
      terminal.say(first ? "  The two passwords differ: type it again." : "  A password is needed (--set-password).");
    }
  };

  const result = await enrollUplink(request, ca, (line) => console.log(line), { output: "listr" });
  console.log(`\nRECAP\n${formatRecap(result.recaps)}\n\n${result.card}`);
  return result.hubUpdated ? exitCode(result.recaps) : 4;
}

runEnrollment(main);
