// Facts about traffic control: a device's qdiscs, classes and ingress redirects (tc -j where it speaks JSON, else text), and which leaf qdiscs the kernel offers.
import { raw } from "../command.ts";
import { defineFact, type Fact } from "./fact.ts";

export interface TcQdisc {
  kind: string;
  /** "1:", "10:", "ffff:". */
  handle: string;
  /** "root", or the parent's id ("1:10", "ffff:fff1" for ingress). */
  parent: string;
  /** The options this codebase compares: htb's default class (hex, as tc takes it), a fifo's limit. */
  defaultClass?: string;
  limit?: number;
}

export interface TcClass {
  kind: string;
  classid: string;
  parent: string;
  rateBit: number;
  ceilBit: number;
  /** HTB's priority, where tc shows one (leaf classes). */
  prio?: number;
}

export interface TcDeviceState {
  exists: boolean;
  up: boolean;
  qdiscs: TcQdisc[];
  classes: TcClass[];
  /** Devices the ingress filters redirect packets to (mirred), one entry per filter that does. */
  ingressRedirects: string[];
  /** Ingress filters that do anything else (the ingress hook is ours: they are replaced). */
  otherIngressFilters: number;
}

const SECTIONS = ["qdisc", "class", "filter"] as const;

/**
 * What tc says about one device, in one probe; `tc -j` first, plain text where this tc has no JSON for that object.
 * iproute2 changed this object by object (test/unit/fixtures/tc/iproute2-*.txt, captured with each version's tc):
 * classes have JSON since 6.2 (before, `-j` prints them as text, which the parsers read); u32 filters since 5.18 (before,
 * `-j` wraps u32's text in the JSON of the filter list, which no parser reads: OpenWrt 22.03 ships 5.15), so the probe
 * asks for filters in JSON only from 5.18 on. Debian 12 has 6.1, OpenWrt 23.05 6.3, 24.10 6.11.
 */
export const tcDeviceFact = (device: string): Fact<TcDeviceState> =>
  defineFact(
    `tc:${device}`,
    raw(
      [
        `d=${shellWord(device)}`,
        `[ -e "/sys/class/net/$d" ] || { echo absent; exit 0; }`,
        `echo exists; cat "/sys/class/net/$d/flags"`,
        // No tc yet (a default OpenWrt image): the device has none of our qdiscs, classes or filters, which is what the plan then creates.
        `command -v tc >/dev/null 2>&1 || exit 0`,
        `echo @qdisc; tc -j qdisc show dev "$d" 2>/dev/null || tc qdisc show dev "$d"`,
        `echo @class; tc -j class show dev "$d" 2>/dev/null || tc class show dev "$d"`,
        // "tc utility, iproute2-5.15.0"; older ones say iproute2-ss<date>, and read as 0.0: text.
        `v=$(tc -V 2>/dev/null | sed -n 's/.*iproute2-\\([0-9][0-9]*\\)\\.\\([0-9][0-9]*\\).*/\\1 \\2/p'); maj=\${v%% *}; min=\${v#* }`,
        `if [ "\${maj:-0}" -gt 5 ] 2>/dev/null || { [ "\${maj:-0}" -eq 5 ] && [ "\${min:-0}" -ge 18 ]; } 2>/dev/null; then j=-j; else j=; fi`,
        `echo @filter; tc $j filter show dev "$d" parent ffff: 2>/dev/null || tc filter show dev "$d" parent ffff: 2>/dev/null`,
        `true`,
      ].join("\n"),
    ),
    ({ stdout }) => parseTcDevice(stdout),
  );

/** Device names are [A-Za-z0-9._-] (at most 15 characters); anything else is refused before it reaches a shell. */
function shellWord(device: string): string {
  if (!/^[A-Za-z0-9._-]{1,15}$/.test(device)) throw new Error(`not a network device name: ${JSON.stringify(device)}`);
  return device;
}

export function parseTcDevice(stdout: string): TcDeviceState {
  const lines = stdout.split("\n");
  if (lines[0]?.trim() !== "exists")
    return { exists: false, up: false, qdiscs: [], classes: [], ingressRedirects: [], otherIngressFilters: 0 };
  const up = (parseInt(lines[1] ?? "0", 16) & 1) === 1;
  const section: Record<string, string> = { qdisc: "", class: "", filter: "" };
  let current = "";
  for (const line of lines.slice(2)) {
    const name = line.startsWith("@") ? line.slice(1).trim() : "";
    if ((SECTIONS as readonly string[]).includes(name)) current = name;
    else if (current) section[current] += `${line}\n`;
  }
  const filters = parseFilters(section.filter);
  return { exists: true, up, qdiscs: parseQdiscs(section.qdisc), classes: parseClasses(section.class), ...filters };
}

const isJson = (text: string) => text.trimStart().startsWith("[");

type Json = Record<string, unknown>;

export function parseQdiscs(text: string): TcQdisc[] {
  if (isJson(text)) {
    return (JSON.parse(text) as Json[]).map((q) => {
      const options = (q.options ?? {}) as Json;
      return {
        kind: String(q.kind),
        handle: String(q.handle),
        parent: q.root ? "root" : String(q.parent ?? ""),
        defaultClass: options.default === undefined ? undefined : hex(String(options.default)),
        limit: typeof options.limit === "number" ? options.limit : undefined,
      };
    });
  }
  // qdisc htb 1: root refcnt 2 r2q 10 default 0x10 ... | qdisc pfifo 10: parent 1:10 limit 30p | qdisc ingress ffff: parent ffff:fff1 ---
  return textLines(text, "qdisc").map(({ words, after }) => {
    const def = after("default");
    const limit = after("limit");
    return {
      kind: words[1],
      handle: words[2],
      parent: words.includes("root") ? "root" : (after("parent") ?? ""),
      defaultClass: def === undefined ? undefined : hex(def),
      limit: limit === undefined ? undefined : parseInt(limit, 10),
    };
  });
}

export function parseClasses(text: string): TcClass[] {
  if (isJson(text)) {
    // tc's JSON gives rates in bytes per second.
    return (JSON.parse(text) as Json[]).map((c) => ({
      kind: String(c.class ?? c.kind),
      classid: String(c.handle),
      parent: c.root ? "root" : String(c.parent ?? ""),
      rateBit: Number(c.rate ?? 0) * 8,
      ceilBit: Number(c.ceil ?? 0) * 8,
      ...(typeof c.prio === "number" ? { prio: c.prio } : {}),
    }));
  }
  // class htb 1:10 root leaf 10: prio 0 rate 5Mbit ceil 5Mbit burst 1600b cburst 1600b
  return textLines(text, "class").map(({ words, after }) => {
    const prio = after("prio");
    return {
      kind: words[1],
      classid: words[2],
      parent: words.includes("root") ? "root" : (after("parent") ?? ""),
      rateBit: parseRate(after("rate") ?? "0"),
      ceilBit: parseRate(after("ceil") ?? "0"),
      ...(prio === undefined ? {} : { prio: parseInt(prio, 10) }),
    };
  });
}

/** tc's text lines of one kind ("qdisc", "class"): their words, and the word after a keyword. */
function textLines(text: string, kind: string): { words: string[]; after: (key: string) => string | undefined }[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith(`${kind} `))
    .map((l) => {
      const words = l.trim().split(/\s+/);
      return { words, after: (key: string) => (words.indexOf(key) > 1 ? words[words.indexOf(key) + 1] : undefined) };
    });
}

function parseFilters(text: string): { ingressRedirects: string[]; otherIngressFilters: number } {
  const redirects: string[] = [];
  let other = 0;
  if (isJson(text)) {
    for (const f of JSON.parse(text) as Json[]) {
      const options = f.options as Json | undefined;
      // u32 lists its hash tables as filters without actions; only entries with actions (or a match) are rules.
      if (!options || (!options.actions && !options.match)) continue;
      const actions = (options.actions ?? []) as Json[];
      const mirred = actions.find(
        (a) => a.kind === "mirred" && a.mirred_action === "redirect" && a.direction === "egress",
      );
      if (mirred && actions.length === 1) redirects.push(String(mirred.to_dev));
      else other++;
    }
    return { ingressRedirects: redirects, otherIngressFilters: other };
  }
  // filter ... fh 800::800 order 2048 ... \n  match 00000000/00000000 at 0\n\taction order 1: mirred (Egress Redirect to device ifb0) stolen
  const rules = text.split(/\n(?=filter )/).filter((block) => /\n\s*(match|action)/.test(block));
  for (const rule of rules) {
    const targets = [...rule.matchAll(/mirred \(Egress Redirect to device (\S+?)\)/g)].map((m) => m[1]);
    const actions = (rule.match(/action order \d+:/g) ?? []).length;
    if (targets.length === 1 && actions === 1) redirects.push(targets[0]);
    else other++;
  }
  return { ingressRedirects: redirects, otherIngressFilters: other };
}

const UNITS: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  tbit: 1e12,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
};

/** "5Mbit" -> 5000000, "2500Kbit" -> 2500000 (tc prints rates in bits with SI units). */
export function parseRate(text: string): number {
  const m = /^([\d.]+)([A-Za-z]*)$/.exec(text.trim());
  if (!m) return NaN;
  return Math.round(parseFloat(m[1]) * (UNITS[(m[2] || "bit").toLowerCase()] ?? NaN));
}

/** tc reads and prints qdisc/class minor numbers in hex: "10", "0x10" -> "10". */
const hex = (text: string) => parseInt(text, 16).toString(16);

/**
 * Which leaf qdiscs the kernel has, read without changing anything (a probe that adds a qdisc to lo and removes it
 * is not read-only, and needs tc, which a default OpenWrt image lacks). A kind is there when the kernel's default
 * qdisc is it (the sysctl takes only kinds the kernel has: OpenWrt's is fq_codel), a device uses it now (ip link
 * prints "qdisc <kind>", BusyBox's ip too), its module is loaded (/sys/module/sch_<kind>), or a module file or the
 * built-in list names it: `tc qdisc add` loads such a module by itself. OpenWrt puts modules flat in
 * /lib/modules/<release>/ (kmod-sched-cake: sch_cake.ko), Debian under kernel/net/sched/ (.ko, .ko.xz).
 */
const LEAF_QDISC_PROBES = ["fq_codel", "cake"] as const;
export type ProbedQdisc = (typeof LEAF_QDISC_PROBES)[number];

export const qdiscSupportFact: Fact<Set<ProbedQdisc>> = defineFact(
  "tc:qdisc-support",
  raw(
    [
      `m="/lib/modules/$(uname -r)"; def=$(cat /proc/sys/net/core/default_qdisc 2>/dev/null); used=$(ip link show 2>/dev/null)`,
      `for k in ${LEAF_QDISC_PROBES.join(" ")}; do`,
      `  if [ "$def" = "$k" ] || [ -e "/sys/module/sch_$k" ] || echo "$used" | grep -q " qdisc $k " || [ -e "$m/sch_$k.ko" ] || grep -qs "/sch_$k\\.ko" "$m/modules.builtin" || { [ -d "$m" ] && find "$m" -name "sch_$k.ko*" 2>/dev/null | grep -q .; }; then echo "$k yes"; else echo "$k no"; fi`,
      `done`,
    ].join("\n"),
  ),
  ({ stdout }) =>
    new Set(
      stdout
        .split("\n")
        .map((l) => l.trim().split(" "))
        .filter(([k, answer]) => answer === "yes" && (LEAF_QDISC_PROBES as readonly string[]).includes(k))
        .map(([k]) => k as ProbedQdisc),
    ),
);
