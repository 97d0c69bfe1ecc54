// Gather: facts read from a host in one round trip (the script protocol in script.ts), and the host's identity.
import { TransportError, UserError } from "../errors.ts";
import type { Fact, FactReader, ProbeOutput } from "../facts/fact.ts";
import { hostFacts, type HostFacts } from "../facts/host.ts";
import type { Host } from "../inventory/types.ts";
import type { Transport } from "../transport/types.ts";
import { gatherScript, SCRIPT_SHELL } from "./script.ts";

/** Runs probes in one round trip and returns a reader over their parsed values (each parsed once, when first read). */
export async function gather(transport: Transport, facts: readonly Fact<unknown>[]): Promise<FactReader> {
  const unique = [...new Map(facts.map((f) => [f.key, f])).values()];
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
  return <T>(fact: Fact<T>): T => {
    if (!parsed.has(fact.key)) {
      const output = outputs.get(fact.key);
      if (!output)
        throw new Error(`internal: fact ${fact.key} was read but never gathered (list it in the resource's facts)`);
      parsed.set(fact.key, fact.parse(output));
    }
    return parsed.get(fact.key) as T;
  };
}

/** Who the host is (OS, init, release, pending handlers), checked against what the inventory says it is. */
export async function identify(transport: Transport, host: Host): Promise<HostFacts> {
  const read = await gather(transport, [hostFacts]);
  const facts = read(hostFacts);
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
