// The hub's services as the machine running the check reaches them (the maintainer's laptop on the kitchen LAN): every
// HTTP service published on the hub's LAN address, and the DNS cache there. Sockets of this process, no SSH.
import { Resolver } from "node:dns/promises";
import type { CheckResult } from "./checks.ts";
import type { HubDeclaration } from "./declared.ts";

const TIMEOUT_MS = 4000;

const why = (err: unknown) => {
  const e = err as { cause?: { code?: string; message?: string }; code?: string; name?: string; message?: string };
  if (e.name === "TimeoutError") return `no answer within ${TIMEOUT_MS / 1000} s`;
  return e.cause?.code ?? e.code ?? e.cause?.message ?? e.message ?? String(err);
};

/** One result per service the kitchen LAN is given; none when the hub has no LAN address. */
export async function checkFromHere(decl: HubDeclaration): Promise<CheckResult[]> {
  const lan = decl.lan;
  if (!lan) return [];
  const results: CheckResult[] = [];
  for (const s of decl.services) {
    const onLan = s.runner === "compose" ? !s.spec.hostNetwork && (s.spec.publish ?? []).includes("lan") : false;
    const service = `${s.name} (LAN)`;
    if (s.name === "dns") {
      const name = `hub.${decl.vars.dns_domain}`;
      const resolver = new Resolver({ timeout: 2000, tries: 2 });
      resolver.setServers([lan]);
      try {
        const answer = await resolver.resolve4(name);
        results.push({
          service,
          ok: answer.includes(lan),
          detail: `${name} at ${lan} from this machine: ${answer.join(", ") || "no address"}${answer.includes(lan) ? "" : ` (expected ${lan})`}`,
        });
      } catch (err) {
        results.push({ service, ok: false, detail: `${name} at ${lan} from this machine: ${why(err)}` });
      }
      continue;
    }
    if (!onLan || (s.spec.probe.kind !== "http" && s.spec.probe.kind !== "metrics")) continue;
    const url = `http://${lan}:${s.spec.port}${s.spec.probe.path ?? "/"}`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
      const body = await res.text();
      const expect = s.spec.probe.expect;
      const ok = res.ok && (!expect || body.includes(expect));
      results.push({
        service,
        ok,
        detail: `${url} from this machine: HTTP ${res.status}${expect && !body.includes(expect) ? ` without "${expect}"` : ""}`,
      });
    } catch (err) {
      results.push({ service, ok: false, detail: `${url} from this machine: ${why(err)}` });
    }
  }
  return results;
}
