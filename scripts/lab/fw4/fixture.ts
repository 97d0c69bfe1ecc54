// Reads the probe results of fw4 and an interface in no zone, as measured on real OpenWrt
// (../shared/openwrt/raw/fw4-unzoned-results-*.txt; the setup is in fw4-unzoned-interface.md): one row a probe, T1..T9.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The captured facts, beside the repository (../shared/openwrt). */
export const SHARED_OPENWRT = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "..",
  "..",
  "shared",
  "openwrt",
);

/** What a probe saw: a TCP/UDP answer or a rejection (RST, ICMP port-unreachable); a ping answered or not. */
type UnzonedOutcome = "accepted" | "refused" | "answered" | "no answer";

export interface UnzonedRow {
  /** T1..T9, as fw4-unzoned-interface.md's table numbers them. */
  id: string;
  proto: "tcp" | "udp" | "ping";
  port?: number;
  /** T9's two pings: to the router's address on the device in no zone, or on wan. */
  to?: "unzoned" | "wan";
  outcome: UnzonedOutcome;
  /** The row as captured, for messages. */
  line: string;
}

/** Which captured variant: the default config, an fw4 include in chain-pre, an accept in a table of one's own. */
export type UnzonedVariant = "default-24.10" | "default-23.05" | "with-chain-pre-include" | "with-own-table";

function outcomeOf(line: string, proto: UnzonedRow["proto"]): UnzonedOutcome {
  if (proto === "ping") {
    if (/no reply/.test(line)) return "no answer";
    if (/reply$/.test(line)) return "answered";
  } else {
    if (/connected \(got|reply b'/.test(line)) return "accepted";
    if (/icmp-unreachable|refused \(/.test(line)) return "refused";
  }
  throw new Error(`fw4 fixture: no outcome in ${JSON.stringify(line)}`);
}

export function unzonedRows(variant: UnzonedVariant): UnzonedRow[] {
  const file = join(SHARED_OPENWRT, "raw", `fw4-unzoned-results-${variant}.txt`);
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => /^T\d /.test(l))
    .map((line) => {
      const id = line.split(" ")[0];
      const m = /\b(tcp|udp)\/(\d+)\b/.exec(line);
      const proto = m ? (m[1] as "tcp" | "udp") : / ping\b/.test(line) ? "ping" : undefined;
      if (!proto) throw new Error(`fw4 fixture ${file}: no protocol in ${JSON.stringify(line)}`);
      return {
        id,
        proto,
        ...(m ? { port: Number(m[2]) } : {}),
        ...(proto === "ping" ? { to: / wan addr /.test(line) ? ("wan" as const) : ("unzoned" as const) } : {}),
        outcome: outcomeOf(line, proto),
        line: line.replace(/\s+/g, " ").trim(),
      };
    });
}
