// Which node a router (or a member's machine) is, decided from its SSH host key (never its address: every GL.iNet
// router is 192.168.8.1, and a home LAN's addresses come and go with DHCP).
import { UserError } from "../../lib/errors.ts";
import { fingerprintOf, isNodeName, knownHostsName, namesHolding, type Pin } from "../../lib/transport/known-hosts.ts";

export interface IdentityInput {
  /** The key the router presented. */
  key: Buffer;
  /** Every line of known_hosts. */
  pins: Pin[];
  /** The inventory's hosts (name, group, and the address older versions wrote for a router). */
  hosts: { name: string; group: string; address: string; port: number; source: string }[];
  /** Where the installer reached the router. */
  address: string;
  port: number;
  /** --name, if given. */
  name?: string;
  group: string;
  knownHostsFile: string;
  /** What messages call the host: "router" (default) or "machine" (a member's Debian client). */
  noun?: string;
}

export type Identity =
  /** A node already holds this key: this router is that node; finish its enrollment. */
  | { kind: "re-run"; name: string }
  /** No name pin, but the old code pinned this key at the address where the inventory has that node: take it over. */
  | { kind: "migrated"; name: string; line: number }
  | { kind: "new"; name: string };

/** New nodes are named after their group: uplink-N in uplinks, client-N in clients. */
const namePrefixOf = (group: string): string =>
  ({ uplinks: "uplink", clients: "client", relays: "relay", admins: "admin" })[group] ?? group;

const nextFree = (prefix: string, taken: Set<string>) => {
  for (let n = 1; ; n++) if (!taken.has(`${prefix}-${n}`)) return `${prefix}-${n}`;
};

/** new / re-run / migrated, or a UserError saying why not (the --name is another router's). Pure: the caller pins and writes. */
export function decideIdentity(input: IdentityInput): Identity {
  const fp = fingerprintOf(input.key);
  const noun = input.noun ?? "router";
  const pinsOf = (name: string) => input.pins.filter((p) => p.names.includes(name));
  const inGroup = (name: string) => {
    const host = input.hosts.find((h) => h.name === name);
    if (host && host.group !== input.group)
      throw new UserError(
        `this ${noun} is ${name}, which the inventory has in group ${host.group} (${host.source}), not ${input.group}`,
      );
  };

  const holders = namesHolding(input.pins, input.key);
  if (holders.length > 1) {
    throw new UserError(
      `this ${noun}'s key ${fp} is pinned for several nodes in ${input.knownHostsFile}: ${holders.join(", ")}`,
      "keep the line of the node it really is and delete the others",
    );
  }
  if (holders.length === 1) {
    const [name] = holders;
    if (input.name && input.name !== name) {
      throw new UserError(
        `this ${noun} is already ${name} (key ${fp}, ${input.knownHostsFile}:${pinsOf(name)[0].line}), not ${input.name}`,
        `run again without --name, or with --name ${name}, to finish its enrollment`,
      );
    }
    inGroup(name);
    return { kind: "re-run", name };
  }

  // Older versions pinned by address: trust such a line only for the node the inventory has at that same address.
  const legacy = knownHostsName(input.address, input.port);
  const legacyLine = input.pins.find((p) => p.names.includes(legacy) && p.blob.equals(input.key));
  const legacyNodes = legacyLine
    ? input.hosts.filter(
        (h) =>
          h.group === input.group &&
          h.address === input.address &&
          h.port === input.port &&
          pinsOf(h.name).length === 0,
      )
    : [];
  if (legacyLine && legacyNodes.length === 1 && (!input.name || input.name === legacyNodes[0].name)) {
    return { kind: "migrated", name: legacyNodes[0].name, line: legacyLine.line };
  }

  if (input.name) {
    const pinned = pinsOf(input.name)[0];
    if (pinned)
      throw new UserError(
        `${input.name} is another ${noun} (key ${fingerprintOf(pinned.blob)}, ${input.knownHostsFile}:${pinned.line}); this one presents ${fp}: pick another --name`,
        "or leave --name out for the next free name",
      );
    inGroup(input.name);
    return { kind: "new", name: input.name };
  }
  // Names pinned but not (yet) in the inventory belong to hosts whose enrollment stopped midway: never reuse them.
  const taken = new Set([...input.hosts.map((h) => h.name), ...input.pins.flatMap((p) => p.names.filter(isNodeName))]);
  return { kind: "new", name: nextFree(namePrefixOf(input.group), taken) };
}
