// An nftables table owned whole by this project: loaded in one transaction, recognised by the hash in its comment.
// The hash, not the listing, is compared: nft prints rules differently from version to version (OpenWrt's and
// Debian's differ), and a comment survives them all. A table edited by hand loses or changes it and is reloaded.
import { createHash } from "node:crypto";
import { sh } from "../command.ts";
import { defineFact, type Fact } from "../facts/fact.ts";
import type { Resource, ResourceOptions } from "./resource.ts";

export interface NftTableSpec extends ResourceOptions {
  family: "ip" | "ip6" | "inet";
  name: string;
  /** The table's chains and rules, as in an nft file (without the table's own braces and comment). */
  body: string;
  /** Remove the table instead. */
  absent?: boolean;
}

/** The live table's comment, "" when it has none, or null when there is no such table (or no nft). */
const nftTableCommentFact = (family: string, name: string): Fact<string | null> =>
  defineFact(`nft-comment:${family}:${name}`, sh`nft list table ${family} ${name} 2>/dev/null`, ({ stdout, code }) =>
    code === 0 ? (/^\s*comment "([^"]*)"/m.exec(stdout)?.[1] ?? "") : null,
  );

export const nftTableStamp = (body: string): string =>
  `meshisp sha256:${createHash("sha256").update(body).digest("hex").slice(0, 16)}`;

export function nftTable(spec: NftTableSpec): Resource {
  const live = nftTableCommentFact(spec.family, spec.name);
  const id = `${spec.family} ${spec.name}`;
  const stamp = nftTableStamp(spec.body);
  return {
    name: spec.absent ? `Remove nftables table ${id}` : `Load nftables table ${id}`,
    notify: spec.notify,
    tags: spec.tags,
    facts: [live],
    plan(read) {
      const now = read(live);
      if (spec.absent)
        return now === null
          ? null
          : { commands: [sh`nft delete table ${spec.family} ${spec.name}`], summary: "remove" };
      if (now === stamp) return null;
      // One transaction: create (so the delete cannot fail), delete, define. Packets never meet half a table.
      const script = `table ${id}\ndelete table ${id}\ntable ${id} {\n\tcomment "${stamp}"\n${spec.body}\n}\n`;
      return { commands: [sh`printf '%s' ${script} | nft -f -`], summary: now === null ? "create" : "replace rules" };
    },
  };
}
