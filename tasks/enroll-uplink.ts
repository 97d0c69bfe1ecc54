// Playbook for field installers: enroll a volunteer's router as an uplink. Asks for what it needs, or takes flags for scripts.
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { reportError } from "../lib/cli.ts";
import { UserError } from "../lib/errors.ts";
import { loadInventory } from "../lib/inventory/load.ts";
import { openInventoryCa } from "../lib/pki/passphrase.ts";
import { exitCode, formatRecap } from "../lib/runner/report.ts";
import { enrollUplink, type EnrollRequest } from "./enroll/enroll.ts";
import {
  checkEnrollInventory,
  checkUplinkFlags,
  uplinkAddress,
  uplinkMbit,
  uplinkPort,
  uplinkText,
} from "./enroll/uplink-flags.ts";
import { asker, readPasswordPrompt } from "./enroll/prompt.ts";

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
Re-running the same command after any failure finishes the job. Exit codes: 0 done, 1 bad input or a step
failed (the message says what to do), 4 the hub could not be updated.`;

async function main(): Promise<number> {
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
    throw new UserError((err as Error).message, "run npx tsx tasks/enroll-uplink.ts --help");
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  // Bad flags, inventory or key: stop before asking anything, and long before the router is dialled.
  checkUplinkFlags(values);
  const inventoryFile = resolve(values.inventory!);
  checkEnrollInventory(loadInventory(inventoryFile));
  const rl = process.stdin.isTTY ? createInterface({ input: process.stdin, output: process.stderr }) : undefined;
  const ask = asker(values, rl, "tasks/enroll-uplink.ts");
  const request: EnrollRequest = {
    inventoryFile,
    // GL.iNet's LAN address; stock OpenWrt's is 192.168.1.1.
    address: uplinkAddress(await ask("address", "Router address", "192.168.8.1")),
    port: values.port ? uplinkPort(values.port) : undefined,
    name: values.name,
    volunteer: {
      name: uplinkText(await ask("volunteer", "Volunteer's name"), "volunteer", "the volunteer's name"),
      contact: uplinkText(
        await ask("contact", "Volunteer's phone or e-mail"),
        "contact",
        "the volunteer's phone or e-mail",
      ),
      ...(values.location || rl ? { location: await ask("location", "Where is the router (optional)", "-") } : {}),
    },
    bandwidth: {
      up_mbit: uplinkMbit(await ask("up-mbit", "Donated upload, Mbit/s", "5"), "up-mbit"),
      down_mbit: uplinkMbit(await ask("down-mbit", "Donated download, Mbit/s", "20"), "down-mbit"),
    },
  };
  if (request.volunteer.location === "-") delete request.volunteer.location;
  if (values["radio-port"] !== undefined || values["no-radio"])
    request.radio = { port: values["radio-port"], none: values["no-radio"] };
  rl?.close();
  if (values.password)
    request.password = process.env.ROUTER_PASSWORD ?? (await readPasswordPrompt("Router root password: "));
  else if (process.env.ROUTER_PASSWORD) request.password = process.env.ROUTER_PASSWORD;
  // Only asked if the router turns out to have no root password; on a terminal an empty answer leaves it blank.
  const setPassword = values["set-password"];
  request.askNewPassword = async () => {
    if (process.env.ROUTER_NEW_PASSWORD) return process.env.ROUTER_NEW_PASSWORD;
    if (!process.stdin.isTTY) {
      if (setPassword) throw new UserError("--set-password needs a terminal to ask on, or ROUTER_NEW_PASSWORD");
      return undefined;
    }
    console.error("The router has no root password: anyone on the volunteer's network could log in as root.");
    const first = await readPasswordPrompt(
      `New root password for the router${setPassword ? "" : " (empty: leave it blank)"}: `,
    );
    if (!first) return setPassword ? request.askNewPassword!() : undefined;
    if ((await readPasswordPrompt("The same again: ")) !== first)
      throw new UserError("the two passwords differ", "run the same command again");
    return first;
  };

  const ca = await openInventoryCa(loadInventory(inventoryFile));
  const result = await enrollUplink(request, ca, (line) => console.log(line), { output: "listr" });
  console.log(`\nRECAP\n${formatRecap(result.recaps)}\n\n${result.card}`);
  return result.hubUpdated ? exitCode(result.recaps) : 4;
}

main().then(
  (code) => process.exit(code),
  (err) => process.exit(reportError(err)),
);
