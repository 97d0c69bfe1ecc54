// An nftables table owned whole by this project: compared with the live table (`nft list table`), replaced atomically.
import { sh } from "../command.ts";
import { defineFact, type Fact } from "../facts/fact.ts";
import type { Resource, ResourceOptions } from "./resource.ts";

export interface NftTableSpec extends ResourceOptions {
  family: "ip" | "ip6" | "inet";
  name: string;
  /** The table's body as `nft list table` prints it (chains, rules); whitespace does not matter. */
  body: string;
  /** Remove the table instead. */
  absent?: boolean;
}

/** The live table as nft prints it, or null when there is none (or no nft). */
export const nftTableFact = (family: string, name: string): Fact<string | null> =>
  defineFact(`nft:${family}:${name}`, sh`nft list table ${family} ${name} 2>/dev/null`, ({ stdout, code }) => (code === 0 ? stdout : null));

/** Whitespace-insensitive form, so the comparison ignores nft's tabs and blank lines. */
export const normalizeNft = (text: string): string =>
  text
    .split("\n")
    .map((l) => l.trim().replace(/\s+/g, " "))
    .filter(Boolean)
    .join("\n");

export function nftTable(spec: NftTableSpec): Resource {
  const live = nftTableFact(spec.family, spec.name);
  const id = `${spec.family} ${spec.name}`;
  const wanted = `table ${id} {\n${spec.body}\n}`;
  return {
    name: spec.absent ? `Remove nftables table ${id}` : `Set nftables table ${id}`,
    notify: spec.notify,
    tags: spec.tags,
    facts: [live],
    plan(read) {
      const now = read(live);
      if (spec.absent) return now === null ? null : { commands: [sh`nft delete table ${spec.family} ${spec.name}`], summary: "remove" };
      if (now !== null && normalizeNft(now) === normalizeNft(wanted)) return null;
      // One nft transaction: create (so delete cannot fail), delete, define. Packets never see half a table.
      const script = `table ${id}\ndelete table ${id}\n${wanted}\n`;
      return { commands: [sh`printf '%s' ${script} | nft -f -`], summary: now === null ? "create" : "replace rules" };
    },
  };
}
