// QoS on the hub: an HTB tree per egress device (emergency, interactive, default, bulk) so a bulk download cannot starve
// a voice call or the emergency broadcast. Classes are chosen by nftables (`meta priority set 1:<class>`, hub.nft.hbs).
// Leaves are fq_codel where the kernel has it (it also copes with GSO bursts), else a short pfifo.
import { sh, type Command } from "../../lib/command.ts";
import { defineFact, type ProbeOutput } from "../../lib/facts/fact.ts";
import { parseClasses, parseQdiscs, qdiscSupportFact } from "../../lib/facts/tc.ts";
import { UserError } from "../../lib/errors.ts";
import type { Resource } from "../../lib/resources/resource.ts";

export type LeafKind = "fq_codel" | "pfifo";
interface HtbClass {
  id: string;
  /** Guaranteed and maximum rate, kbit/s. */
  rate: number;
  ceil: number;
  prio: number;
  leaf: LeafKind;
  /** pfifo's length in packets: short, or a bulk flow adds seconds of delay. */
  limit: number;
}
export interface HtbSpec {
  dev: string;
  rateKbit: number;
  defaultClass: string;
  classes: HtbClass[];
}
export interface HtbState {
  root: { kind: string; handle: string; defaultClass: string } | null;
  classes: Map<string, { rate: number; ceil: number; prio: number }>;
  leaves: Map<string, { kind: string; limit: number }>;
}

/** Shares of the link rate: emergency 20%, interactive 30%, default 40%, bulk 10%; each may borrow up to the whole link. */
export const CLASS_SHARES = [
  { name: "emergency", id: "10", share: 0.2, prio: 0, limit: 32 },
  { name: "interactive", id: "20", share: 0.3, prio: 1, limit: 32 },
  { name: "default", id: "30", share: 0.4, prio: 2, limit: 64 },
  { name: "bulk", id: "40", share: 0.1, prio: 3, limit: 64 },
] as const;

export function htbFor(dev: string, rateKbit: number, leaf: LeafKind = "pfifo"): HtbSpec {
  const rate = Math.max(64, Math.round(rateKbit));
  return {
    dev,
    rateKbit: rate,
    defaultClass: "30",
    classes: CLASS_SHARES.map((c) => ({
      id: `1:${c.id}`,
      rate: Math.max(8, Math.round(rate * c.share)),
      ceil: rate,
      prio: c.prio,
      leaf,
      limit: c.limit,
    })),
  };
}

/** Parses `tc qdisc show dev D; echo ---; tc class show dev D` (tc's text output: `tc -j class` is not JSON everywhere). */
export function parseHtb({ stdout, code }: ProbeOutput): HtbState | null {
  if (code !== 0) return null;
  const [qdiscs = "", classes = ""] = stdout.split("\n---\n");
  const state: HtbState = { root: null, classes: new Map(), leaves: new Map() };
  for (const q of parseQdiscs(qdiscs)) {
    if (q.parent === "root") state.root = { kind: q.kind, handle: q.handle, defaultClass: q.defaultClass ?? "" };
    else state.leaves.set(q.parent, { kind: q.kind, limit: q.limit ?? NaN });
  }
  for (const c of parseClasses(classes)) {
    if (c.kind === "htb")
      state.classes.set(c.classid, { rate: c.rateBit / 1000, ceil: c.ceilBit / 1000, prio: c.prio ?? 0 });
  }
  return state;
}

const near = (a: number, b: number) => Math.abs(a - b) <= Math.max(1, b * 0.01);
const leafCommand = (dev: string, c: HtbClass, kind: LeafKind = c.leaf): Command => {
  const handle = `${c.id.split(":")[1]}:`;
  return kind === "fq_codel"
    ? sh`tc qdisc replace dev ${dev} parent ${c.id} handle ${handle} fq_codel`
    : sh`tc qdisc replace dev ${dev} parent ${c.id} handle ${handle} pfifo limit ${c.limit}`;
};

/** Commands to make the device's HTB tree as asked; none when it is. `replace` keeps it one step, without a gap. */
export function planHtb(want: HtbSpec, have: HtbState | null): Command[] {
  const rootOk =
    have?.root?.kind === "htb" && have.root.handle === "1:" && have.root.defaultClass === want.defaultClass;
  const top = have?.classes.get("1:1");
  const commands: Command[] = [];
  if (!rootOk) commands.push(sh`tc qdisc replace dev ${want.dev} root handle 1: htb default ${want.defaultClass}`);
  if (!rootOk || !top || !near(top.rate, want.rateKbit) || !near(top.ceil, want.rateKbit)) {
    commands.push(
      sh`tc class replace dev ${want.dev} parent 1: classid 1:1 htb rate ${`${want.rateKbit}kbit`} ceil ${`${want.rateKbit}kbit`}`,
    );
  }
  for (const c of want.classes) {
    const now = rootOk ? have?.classes.get(c.id) : undefined;
    if (!now || !near(now.rate, c.rate) || !near(now.ceil, c.ceil) || now.prio !== c.prio) {
      commands.push(
        sh`tc class replace dev ${want.dev} parent 1:1 classid ${c.id} htb rate ${`${c.rate}kbit`} ceil ${`${c.ceil}kbit`} prio ${c.prio}`,
      );
    }
    const leaf = rootOk && now ? have?.leaves.get(c.id) : undefined;
    if (leaf && leaf.kind === c.leaf && (c.leaf !== "pfifo" || leaf.limit === c.limit)) continue;
    // `replace` only changes a leaf of the same kind: another kind goes first.
    if (leaf && leaf.kind !== c.leaf) commands.push(sh`tc qdisc del dev ${want.dev} parent ${c.id}`);
    commands.push(leafCommand(want.dev, c));
  }
  return commands;
}

/** The tree on a freshly booted host: fq_codel leaves, or the pfifo the runner would pick where the kernel lacks it. */
function bootHtb(want: HtbSpec, dev = want.dev): string[] {
  const spec = { ...want, dev, classes: want.classes.map((c) => ({ ...c, leaf: "fq_codel" as const })) };
  return planHtb(spec, null).map((cmd) => {
    const c = spec.classes.find((k) => cmd.render() === leafCommand(dev, k).render());
    return c ? `${cmd.render()} 2>/dev/null || ${leafCommand(dev, c, "pfifo").render()}` : cmd.render();
  });
}

const htbFact = (dev: string) =>
  defineFact(`htb:${dev}`, sh`tc qdisc show dev ${dev} 2>/dev/null && echo --- && tc class show dev ${dev}`, (out) =>
    parseHtb(out),
  );

/** A resource that knows its own commands for a freshly booted host (see boot.ts). */
export type BootAware = Resource & { bootCommands(): string[] };

/** The HTB tree on one device (the device may be created earlier in the same run). */
export function htb(dev: string, rateKbit: number): BootAware {
  const fact = htbFact(dev);
  return {
    name: `Set QoS classes on ${dev} (${Math.round(rateKbit)} kbit/s)`,
    facts: [fact, qdiscSupportFact],
    plan(read) {
      const commands = planHtb(
        htbFor(dev, rateKbit, read(qdiscSupportFact).has("fq_codel") ? "fq_codel" : "pfifo"),
        read(fact),
      );
      return commands.length ? { commands, summary: `${commands.length} tc change(s)` } : null;
    },
    bootCommands: () => bootHtb(htbFor(dev, rateKbit)),
  };
}

/** The interface with the connected route to `subnet` (first line "dev NAME"), then its qdiscs and classes. */
const lanHtbFact = (subnet: string) =>
  defineFact(
    `htb-lan:${subnet}`,
    sh`dev=$(ip -o -4 route show exact ${subnet} | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p' | head -n 1); echo "dev $dev"; [ -n "$dev" ] && tc qdisc show dev "$dev" && echo --- && tc class show dev "$dev"`,
    ({ stdout, code }) => {
      const [first, ...rest] = stdout.split("\n");
      const dev = first.replace(/^dev ?/, "").trim();
      return { dev: dev || null, state: dev ? parseHtb({ stdout: rest.join("\n"), code }) : null };
    },
  );

/** The HTB tree on the hub's LAN, found by the route to its subnet (at boot too: the script looks the device up). */
export function lanHtb(subnet: string, rateKbit: number): BootAware {
  const fact = lanHtbFact(subnet);
  return {
    name: `Set QoS classes on the LAN ${subnet} (${Math.round(rateKbit)} kbit/s)`,
    facts: [fact, qdiscSupportFact],
    plan(read) {
      const { dev, state } = read(fact);
      if (!dev)
        throw new UserError(
          `no interface has a route to the hub's LAN ${subnet}`,
          "bring the LAN up, or set routing_lan_device (or routing_qos: false)",
        );
      const commands = planHtb(
        htbFor(dev, rateKbit, read(qdiscSupportFact).has("fq_codel") ? "fq_codel" : "pfifo"),
        state,
      );
      return commands.length ? { commands, summary: `${dev}: ${commands.length} tc change(s)` } : null;
    },
    bootCommands() {
      const placeholder = "MESHISP_LAN_DEV";
      const lookup =
        sh`dev=$(ip -o -4 route show exact ${subnet} | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p' | head -n 1)`.render();
      return [lookup, ...bootHtb(htbFor(placeholder, rateKbit)).map((line) => line.replaceAll(placeholder, '"$dev"'))];
    },
  };
}
