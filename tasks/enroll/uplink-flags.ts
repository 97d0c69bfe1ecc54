// The uplink enrollment's flags and answers, checked before the router is dialled: each refusal names the flag, says
// what is wrong and what a right value looks like (a port is a port, not Mbit/s).
import { existsSync } from "node:fs";
import { UserError } from "../../lib/errors.ts";
import { addressProblem } from "../../lib/inventory/checks.ts";
import type { Inventory } from "../../lib/inventory/types.ts";
import { isNodeName } from "../../lib/transport/known-hosts.ts";
import { readLoginKey } from "../../lib/transport/ssh-key.ts";
import { BANDWIDTH_MAX_MBIT, BANDWIDTH_MIN_MBIT } from "../../inventory/known-vars.ts";

const HINT = "run npx tsx tasks/enroll-uplink.ts --help";

export function uplinkAddress(text: string, flag = "address"): string {
  const t = text.trim();
  const why = t ? addressProblem(t) : "it is empty";
  if (why)
    throw new UserError(
      `--${flag}: ${why}; expected the router's address on its LAN (GL.iNet's 192.168.8.1, stock OpenWrt's 192.168.1.1)`,
      HINT,
    );
  return t;
}

export function uplinkPort(text: string, flag = "port"): number {
  const n = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || n < 1 || n > 65535)
    throw new UserError(
      `--${flag} must be the router's SSH port, a whole number from 1 to 65535 (dropbear listens on 22), not ${JSON.stringify(text)}`,
      HINT,
    );
  return n;
}

export function uplinkMbit(text: string, flag: string): number {
  const n = Number(text.trim());
  if (text.trim() === "" || !Number.isFinite(n) || n < BANDWIDTH_MIN_MBIT || n > BANDWIDTH_MAX_MBIT) {
    throw new UserError(
      `--${flag} must be the donated bandwidth in Mbit/s, a number from ${BANDWIDTH_MIN_MBIT} to ${BANDWIDTH_MAX_MBIT} (e.g. 5 or 20), not ${JSON.stringify(text)}`,
      HINT,
    );
  }
  return n;
}

function uplinkName(text: string, flag = "name"): string {
  if (!isNodeName(text))
    throw new UserError(
      `--${flag} must be a node name (lower-case letters, digits and '-', at most 63 characters, e.g. uplink-4), not ${JSON.stringify(text)}`,
      HINT,
    );
  return text;
}

export function uplinkText(text: string, flag: string, what: string): string {
  const t = text.trim();
  if (!t) throw new UserError(`--${flag} must give ${what}, not an empty text`, HINT);
  if (/[\u0000-\u001f\u007f]/.test(t))
    throw new UserError(`--${flag} (${what}) cannot contain line breaks or control characters`, HINT);
  return t;
}

export interface UplinkFlags {
  address?: string;
  port?: string;
  name?: string;
  volunteer?: string;
  contact?: string;
  location?: string;
  "up-mbit"?: string;
  "down-mbit"?: string;
}

/** Every flag given on the command line, checked at once, before anything is asked or dialled. */
export function checkUplinkFlags(values: UplinkFlags): void {
  if (values.address !== undefined) uplinkAddress(values.address);
  if (values.port !== undefined) uplinkPort(values.port);
  if (values.name !== undefined) uplinkName(values.name);
  if (values.volunteer !== undefined) uplinkText(values.volunteer, "volunteer", "the volunteer's name");
  if (values.contact !== undefined) uplinkText(values.contact, "contact", "the volunteer's phone or e-mail");
  if (values.location !== undefined) uplinkText(values.location, "location", "where the router is");
  if (values["up-mbit"] !== undefined) uplinkMbit(values["up-mbit"], "up-mbit");
  if (values["down-mbit"] !== undefined) uplinkMbit(values["down-mbit"], "down-mbit");
}

/** What enrollment needs of the inventory before it dials: the hub (it is told of the node) and the installer's key pair. */
export function checkEnrollInventory(inventory: Inventory): void {
  if (!inventory.groups.hub?.length)
    throw new UserError(
      `${inventory.file}: the inventory has no hub; enrollment tells the hub about the new uplink`,
      "add the hub to groups.hub.hosts (or use the kitchen's inventory)",
    );
  if (!inventory.sshKey)
    throw new UserError(
      `${inventory.file} names no ssh_key: enrollment authorizes that key on the router`,
      "add ssh_key: ~/.ssh/id_ed25519 (or your key) at the top of the inventory",
    );
  readLoginKey(inventory.sshKey, `${inventory.sshKeySource ?? inventory.file}: ssh_key`);
  if (!existsSync(`${inventory.sshKey}.pub`)) {
    throw new UserError(
      `${inventory.sshKeySource ?? inventory.file}: ssh_key: no public key at ${inventory.sshKey}.pub (enrollment authorizes it on the router)`,
      `write it from the private key: ssh-keygen -y -f ${inventory.sshKey} > ${inventory.sshKey}.pub`,
    );
  }
}
