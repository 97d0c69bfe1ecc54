// Gather: facts read from a host in one round trip (the script protocol in script.ts), and the host's identity.
import { TransportError, UserError } from "../errors.ts";
import type { Fact, FactReader, ProbeOutput } from "../facts/fact.ts";
import type { HostFacts } from "../facts/host.ts";
import type { Host } from "../inventory/types.ts";
import type { Transport } from "../transport/types.ts";
import { gatherScript, SCRIPT_SHELL } from "./script.ts";

/** What one gather read: a reader over the parsed values, and the keys of the facts it probed. */
export interface Gathered {
  read: FactReader;
  keys: ReadonlySet<string>;
}

/** Runs probes in one round trip and returns a reader over their parsed values (each parsed once, when first read). */
export async function gather(transport: Transport, facts: readonly Fact<unknown>[]): Promise<FactReader> {
  return (await gatherKeyed(transport, facts)).read;
}

/** As gather, saying which facts were probed; `earlier`'s facts are not probed again, and the reader reads both. */
export async function gatherKeyed(
  transport: Transport,
  facts: readonly Fact<unknown>[],
  earlier?: Gathered,
): Promise<Gathered> {
  const unique = [...new Map(facts.filter((f) => !earlier?.keys.has(f.key)).map((f) => [f.key, f])).values()];
  if (earlier && unique.length === 0) return earlier;
  const { script, parse } = gatherScript(unique);
  const result = await transport.run(SCRIPT_SHELL, { stdin: script.render() });
  const outputs: Map<string, ProbeOutput> = parse(result.stdout);
  if (outputs.size !== unique.length) {
    throw new TransportError(
      transport.target,
      `fact gathering was cut short (exit ${result.code}): ${result.stderr.trim() || "no output"}`,
    );
  }
  const parsed = new Map<string, unknown>();
  const read = <T>(fact: Fact<T>): T => {
    if (!outputs.has(fact.key) && earlier?.keys.has(fact.key)) return earlier.read(fact);
    if (!parsed.has(fact.key)) {
      const output = outputs.get(fact.key);
      if (!output)
        throw new Error(`internal: fact ${fact.key} was read but never gathered (list it in the resource's facts)`);
      parsed.set(fact.key, fact.parse(output));
    }
    return parsed.get(fact.key) as T;
  };
  return { read, keys: new Set([...(earlier?.keys ?? []), ...outputs.keys()]) };
}

/** Who the host is (lib/runner/first-gather.ts gathers it), refused where the runner cannot manage the host or the inventory says it is something else. */
export function checkIdentity(host: Host, facts: HostFacts | { unsupported: string }): HostFacts {
  if ("unsupported" in facts)
    throw new UserError(`${host.name} runs "${facts.unsupported}": only Debian and OpenWrt hosts are supported`);
  if (host.os && host.os !== facts.os) {
    throw new UserError(
      `${host.name}: the inventory (${host.source}) says os: ${host.os}, but the host runs ${facts.os}`,
      "correct the inventory",
    );
  }
  return facts;
}
