// The uplink enrollment's answers, each a flag or a question (tasks/enroll/field.ts), with one rule per answer: a flag
// is refused naming it, a typed answer is asked again with the same reason. All checked before the router is dialled.
import { existsSync } from "node:fs";
import { UserError } from "../../lib/errors.ts";
import { addressProblem } from "../../lib/inventory/checks.ts";
import type { Inventory } from "../../lib/inventory/types.ts";
import { readLoginKey } from "../../lib/transport/ssh-key.ts";
import { BANDWIDTH_MAX_MBIT, BANDWIDTH_MIN_MBIT } from "../../inventory/known-vars.ts";
import { accept, fromFlag, nameField, portField, refuse, textField, type Field } from "./field.ts";

export const UPLINK_HINT = "run npx tsx tasks/enroll-uplink.ts --help";

/** Mbit/s as people write them: "20", "2.5", "20 Mbit/s". */
const mbitField = (flag: string, question: string, fallback: string): Field<number> => ({
  flag,
  question,
  fallback,
  judge(text) {
    const t = text.trim().replace(/\s*(mbit\/s|mbit|mbps)$/i, "");
    const n = Number(t);
    if (!/^\d+(\.\d+)?$/.test(t))
      return refuse(
        `${JSON.stringify(text)} is not a number of Mbit/s: expected a number like 20 (${BANDWIDTH_MIN_MBIT} to ${BANDWIDTH_MAX_MBIT})`,
      );
    if (n < BANDWIDTH_MIN_MBIT || n > BANDWIDTH_MAX_MBIT)
      return refuse(
        `${t} Mbit/s is outside what the mesh takes: expected a number from ${BANDWIDTH_MIN_MBIT} to ${BANDWIDTH_MAX_MBIT}, like 20`,
      );
    return accept(n);
  },
});

/** Every answer enrollment takes, as flags or questions; the questions are asked in this order. */
export const UPLINK_FIELDS = {
  address: {
    flag: "address",
    question: "Router address",
    // GL.iNet's LAN address; stock OpenWrt's is 192.168.1.1.
    fallback: "192.168.8.1",
    judge(text) {
      const t = text.trim();
      const why = t
        ? addressProblem(t)
        : "the router's address on its LAN is required: it cannot be empty (GL.iNet's is 192.168.8.1, stock OpenWrt's 192.168.1.1)";
      return why ? refuse(why) : accept(t);
    },
  } satisfies Field<string>,
  volunteer: textField("volunteer", "Volunteer's name", "the volunteer's name"),
  contact: textField("contact", "Volunteer's phone or e-mail", "the volunteer's phone or e-mail"),
  location: textField("location", "Where is the router (optional)", "where the router is", true),
  "up-mbit": mbitField("up-mbit", "Donated upload, Mbit/s", "5"),
  "down-mbit": mbitField("down-mbit", "Donated download, Mbit/s", "20"),
  // Flags only (no question).
  port: portField("the router's SSH port (dropbear listens on 22)"),
  name: nameField("uplink-4"),
};

export type UplinkFlags = Partial<Record<keyof typeof UPLINK_FIELDS, string>>;

/** Every flag given on the command line, checked at once, before anything is asked or dialled. */
export function checkUplinkFlags(values: UplinkFlags): void {
  for (const [key, field] of Object.entries(UPLINK_FIELDS) as [keyof typeof UPLINK_FIELDS, Field<unknown>][]) {
    const given = values[key];
    if (given !== undefined) fromFlag(field, given, UPLINK_HINT);
  }
}

/**
 * What enrollment needs of the inventory before it dials: the hub (it is told of the node, or the node pings it) and
 * the installer's key pair. `noun`: what is enrolled ("router", "machine").
 */
export function checkEnrollInventory(inventory: Inventory, noun = "router"): void {
  if (!inventory.groups.hub?.length)
    throw new UserError(
      `${inventory.file}: the inventory has no hub; enrollment ${noun === "router" ? "tells the hub about the new uplink" : "checks that the new node reaches the hub"}`,
      "add the hub to groups.hub.hosts (or use the kitchen's inventory)",
    );
  if (!inventory.sshKey)
    throw new UserError(
      `${inventory.file} names no ssh_key: enrollment authorizes that key on the ${noun}`,
      "add ssh_key: ~/.ssh/id_ed25519 (or your key) at the top of the inventory",
    );
  readLoginKey(inventory.sshKey, `${inventory.sshKeySource ?? inventory.file}: ssh_key`);
  if (!existsSync(`${inventory.sshKey}.pub`)) {
    throw new UserError(
      `${inventory.sshKeySource ?? inventory.file}: ssh_key: no public key at ${inventory.sshKey}.pub (enrollment authorizes it on the ${noun})`,
      `write it from the private key: ssh-keygen -y -f ${inventory.sshKey} > ${inventory.sshKey}.pub`,
    );
  }
}
