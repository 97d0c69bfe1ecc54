// A play's first gather on a host: who the host is and the facts its tasks need, in one round trip instead of two.
// The tasks depend on who the host is (its OS, release, firewall, nebula's version), so they are first built from a
// guess: what this run last learnt of the host (an earlier play), else what the inventory says (its os). The real
// facts then build the real tasks, and only the facts the guess missed are gathered, in a second round trip. A wrong
// guess costs a few unneeded probes (never parsed) or that second trip: the tasks always come from the real facts.
// On routers behind slow lines a round trip is what a converge waits for; on the lab's 200 hosts, each exec is sshd
// forking a session and a shell (scripts/bench.ts).
import { hostFacts, type HostFacts } from "../facts/host.ts";
import type { Host } from "../inventory/types.ts";
import type { Transport } from "../transport/types.ts";
import { factsOf } from "./build.ts";
import { checkIdentity, gatherKeyed, type Gathered } from "./gather.ts";
import type { Built } from "./steps.ts";

/** What the host was found to be, its tasks built from that, and everything gathered for them. */
export interface FirstGather {
  facts: HostFacts;
  built: Built;
  gathered: Gathered;
}

/**
 * What each inventory's hosts were last found to be, in this process (a run's later plays guess from its earlier
 * ones). Keyed by the inventory object, so two inventories loaded in one process (tests) never share guesses.
 */
const lastSeen = new WeakMap<object, Map<string, HostFacts>>();

export async function identifyAndGather(
  transport: Transport,
  host: Host,
  inventory: object,
  build: (facts: HostFacts) => Built,
): Promise<FirstGather> {
  const seen = lastSeen.get(inventory) ?? new Map<string, HostFacts>();
  lastSeen.set(inventory, seen);
  const guess = seen.get(host.name) ?? guessedFacts(host);
  // A guess the roles cannot build from (a role refusing what it was told) only means no speculation.
  let guessed: Built | undefined;
  try {
    guessed = guess && build(guess);
  } catch {
    guessed = undefined;
  }
  const first = await gatherKeyed(transport, [hostFacts, ...(guessed ? factsOf(guessed.tasks) : [])]);
  const facts = checkIdentity(host, first.read(hostFacts));
  seen.set(host.name, facts);
  const built = build(facts);
  return { facts, built, gathered: await gatherKeyed(transport, factsOf(built.tasks), first) };
}

/** The inventory's word for what the host runs, as facts: the stock system of that OS. None without an `os`. */
function guessedFacts(host: Pick<Host, "name" | "os">): HostFacts | undefined {
  const common = { arch: "", kernel: "", hostname: host.name, release: "", nebulaVersion: null, pendingHandlers: [] };
  if (host.os === "debian") return { ...common, os: "debian", init: "systemd", packageManager: "apt", firewall: "nft" };
  // OpenWrt 22.03 onward: procd's init scripts, fw4; opkg until 25.12 (apk).
  if (host.os === "openwrt")
    return { ...common, os: "openwrt", init: "initd", packageManager: "opkg", firewall: "fw4" };
  return undefined;
}
