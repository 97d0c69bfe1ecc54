// Cuts the hub off the internet for a test: an nftables drop on its WAN egress, removed again in a finally.
import { sh } from "../../lib/command.ts";
import { UserError } from "../../lib/errors.ts";
import type { Transport } from "../../lib/transport/types.ts";

const CUT_TABLE = "meshisp_cut";

/**
 * Drops what the hub sends out of its WAN interface (the one its default route uses), and what it forwards there,
 * except Nebula's own UDP port (the mesh stays up) and replies of established TCP sessions from port 22 (the
 * maintainer's SSH session, when it comes over the WAN). Returns the interface name.
 */
export async function cutInternet(transport: Transport, nebulaPort: number): Promise<string> {
  const route = await transport.run(sh`ip -o route show default`);
  const dev = /\bdev (\S+)/.exec(route.stdout)?.[1];
  if (!dev)
    throw new UserError(
      `${transport.target}: no default route, so no WAN to cut (the internet is already out of reach)`,
    );
  const rules = [
    `table inet ${CUT_TABLE} {`,
    `  chain out {`,
    `    type filter hook output priority -10; policy accept;`,
    `    oifname "${dev}" udp sport ${nebulaPort} accept`,
    `    oifname "${dev}" tcp sport 22 ct state established accept`,
    `    oifname "${dev}" drop`,
    `  }`,
    `  chain forwarded {`,
    `    type filter hook forward priority -10; policy accept;`,
    `    oifname "${dev}" drop`,
    `  }`,
    `}`,
  ].join("\n");
  if (!/^[A-Za-z0-9_.@-]+$/.test(dev))
    throw new UserError(`${transport.target}: unexpected WAN interface name ${JSON.stringify(dev)}`);
  const result = await transport.run(sh`nft -f -`, { stdin: `${rules}\n` });
  if (result.code !== 0)
    throw new UserError(
      `${transport.target}: could not cut the internet with nftables: ${result.stderr.trim()}`,
      "is nftables installed on the hub (apt install nftables)?",
    );
  return dev;
}

/** Removes the cut; safe to call when it is not there. */
export async function restoreInternet(transport: Transport): Promise<void> {
  await transport.run(
    sh`if nft list table inet ${CUT_TABLE} >/dev/null 2>&1; then nft delete table inet ${CUT_TABLE}; fi`,
  );
}
