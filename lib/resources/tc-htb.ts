// A rate cap on a device's egress: an HTB root, one class at rate = ceil, and a leaf queue under it; planned from the live tc state.
import { sh, type Command } from "../command.ts";
import { qdiscSupportFact, tcDeviceFact, type ProbedQdisc, type TcDeviceState } from "../facts/tc.ts";
import type { Resource, ResourceOptions } from "./resource.ts";

/** The queue under the cap: fq_codel or cake where the kernel has them, else a fifo with an explicit length. */
export type LeafQdisc = { kind: "fq_codel" } | { kind: "cake" } | { kind: "pfifo"; limit: number };

/** A leaf picked by what the kernel offers: the first of `preferred` it has, else a fifo of `fifoLimit` packets. */
export interface LeafChoice {
  preferred: readonly string[];
  fifoLimit: number;
}

export function chooseLeaf(choice: LeafChoice, supported: ReadonlySet<ProbedQdisc>): LeafQdisc {
  const kind = choice.preferred.find((k): k is ProbedQdisc => supported.has(k as ProbedQdisc));
  return kind ? { kind } : { kind: "pfifo", limit: choice.fifoLimit };
}

export interface HtbCapSpec extends ResourceOptions {
  device: string;
  rateBit: number;
  leaf: LeafQdisc | LeafChoice;
  /** How long to wait for a device that does not exist yet (a tunnel started earlier in the same run). */
  waitSeconds?: number;
}

/** The HTB layout: root 1:, all traffic to class 1:10, its leaf queue 10:. */
const HTB = { root: "1:", defaultClass: "10", classid: "1:10", leaf: "10:" } as const;

const leafArgs = (leaf: LeafQdisc): string[] =>
  leaf.kind === "pfifo"
    ? ["pfifo", "limit", String(leaf.limit)]
    : leaf.kind === "cake"
      ? ["cake", "besteffort"]
      : ["fq_codel"];

const formatRate = (bit: number): string =>
  bit % 1e6 === 0 ? `${bit / 1e6}Mbit` : bit % 1e3 === 0 ? `${bit / 1e3}Kbit` : `${bit}bit`;

/** Waits (in the apply script) for a device to appear; fails with a message saying which and how long. */
export const waitForDevice = (device: string, seconds: number): Command =>
  sh`{ i=0; while [ ! -e ${`/sys/class/net/${device}`} ] && [ "$i" -lt ${seconds} ]; do sleep 1; i=$((i+1)); done; [ -e ${`/sys/class/net/${device}`} ] || { echo ${`${device} did not appear within ${seconds} s`} >&2; false; }; }`;

/** The commands that set each part. HTB cannot change itself in place (the kernel refuses "replace" on an HTB root): a wrong one is deleted first. */
export const htbCommands = {
  root: (device: string) => sh`tc qdisc replace dev ${device} root handle ${HTB.root} htb default ${HTB.defaultClass}`,
  deleteRoot: (device: string) => sh`tc qdisc del dev ${device} root`,
  /** For scripts that run on any state: set the root only where it is not our HTB already. */
  ensureRoot: (device: string) =>
    sh`{ tc qdisc show dev ${device} | grep -q ${`^qdisc htb ${HTB.root} root`} || { tc qdisc del dev ${device} root 2>/dev/null; tc qdisc replace dev ${device} root handle ${HTB.root} htb default ${HTB.defaultClass}; }; }`,
  cls: (device: string, rateBit: number) =>
    sh`tc class replace dev ${device} parent ${HTB.root} classid ${HTB.classid} htb rate ${`${rateBit}bit`} ceil ${`${rateBit}bit`}`,
  /** `replace` only changes a leaf of the same kind ("must match existing qdisc"): another kind is deleted first. */
  leaf: (device: string, leaf: LeafQdisc) =>
    sh`tc qdisc replace dev ${device} parent ${HTB.classid} handle ${HTB.leaf} ${leafArgs(leaf)}`,
  deleteLeaf: (device: string) => sh`tc qdisc del dev ${device} parent ${HTB.classid}`,
  ensureLeaf: (device: string, leaf: LeafQdisc) =>
    sh`{ tc qdisc replace dev ${device} parent ${HTB.classid} handle ${HTB.leaf} ${leafArgs(leaf)} 2>/dev/null || { tc qdisc del dev ${device} parent ${HTB.classid} 2>/dev/null; tc qdisc replace dev ${device} parent ${HTB.classid} handle ${HTB.leaf} ${leafArgs(leaf)}; }; }`,
};

/** What differs between the live state and the cap asked for, part by part (root, class, leaf). */
function htbDifferences(
  state: TcDeviceState,
  spec: { rateBit: number; leaf: LeafQdisc },
): { root: boolean; cls: string | null; leaf: string | null } {
  const root = state.qdiscs.find((q) => q.parent === "root");
  const rootOk = root?.kind === "htb" && root.handle === HTB.root && root.defaultClass === HTB.defaultClass;
  const cls = state.classes.find((c) => c.classid === HTB.classid && c.kind === "htb");
  const leaf = state.qdiscs.find((q) => q.parent === HTB.classid);
  const want = spec.leaf;
  const leafOk =
    leaf?.kind === want.kind && leaf.handle === HTB.leaf && (want.kind !== "pfifo" || leaf.limit === want.limit);
  const clsOk = cls !== undefined && cls.rateBit === spec.rateBit && cls.ceilBit === spec.rateBit;
  return {
    root: !rootOk,
    cls:
      rootOk && clsOk
        ? null
        : cls
          ? `rate ${formatRate(cls.rateBit)} -> ${formatRate(spec.rateBit)}`
          : `rate ${formatRate(spec.rateBit)}`,
    leaf:
      rootOk && leafOk
        ? null
        : leaf
          ? `queue ${leaf.kind}${leaf.limit ? ` ${leaf.limit}p` : ""} -> ${leafArgs(want).join(" ")}`
          : `queue ${leafArgs(want).join(" ")}`,
  };
}

export function htbCap(spec: HtbCapSpec): Resource {
  const live = tcDeviceFact(spec.device);
  const choice = "preferred" in spec.leaf ? spec.leaf : undefined;
  return {
    name: `Cap ${spec.device} egress at ${formatRate(spec.rateBit)}`,
    notify: spec.notify,
    tags: spec.tags,
    facts: choice ? [live, qdiscSupportFact] : [live],
    plan(read) {
      const state = read(live);
      const leaf = choice ? chooseLeaf(choice, read(qdiscSupportFact)) : (spec.leaf as LeafQdisc);
      const commands: Command[] = [];
      if (!state.exists) commands.push(waitForDevice(spec.device, spec.waitSeconds ?? 30));
      const diff = htbDifferences(state, { rateBit: spec.rateBit, leaf });
      const root = state.qdiscs.find((q) => q.parent === "root");
      if (diff.root && root?.kind === "htb") commands.push(htbCommands.deleteRoot(spec.device));
      if (diff.root) commands.push(htbCommands.root(spec.device));
      if (diff.cls) commands.push(htbCommands.cls(spec.device, spec.rateBit));
      const current = state.qdiscs.find((q) => q.parent === HTB.classid);
      if (diff.leaf && !diff.root && current && current.kind !== leaf.kind)
        commands.push(htbCommands.deleteLeaf(spec.device));
      if (diff.leaf) commands.push(htbCommands.leaf(spec.device, leaf));
      const changes = [diff.root ? "htb root" : "", diff.cls ?? "", diff.leaf ?? ""].filter(Boolean);
      return changes.length
        ? { commands, summary: `${state.exists ? "" : "new device: "}${changes.join(", ")}` }
        : null;
    },
  };
}
