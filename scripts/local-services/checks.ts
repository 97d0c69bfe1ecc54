// The checks of scripts/test-local-services.ts, run on the hub over its SSH connection: one result per declared service.
import { join, raw, sh, type Command } from "../../lib/command.ts";
import type { Transport } from "../../lib/transport/types.ts";
import { probeCommand } from "../../roles/docker/probes.ts";
import type { DeclaredService, HubDeclaration } from "./declared.ts";

export interface CheckResult {
  service: string;
  ok: boolean;
  /** What was checked and what came back. */
  detail: string;
}

const firstLine = (text: string) => text.trim().split("\n").filter(Boolean).slice(-1)[0] ?? "";

/** The DNS cache: every local name and every mesh node, at every address it listens on. */
async function checkDns(transport: Transport, decl: HubDeclaration): Promise<CheckResult> {
  const queries: Command[] = decl.dnsExpectations.map(
    ({ server, name }) =>
      sh`printf '%s %s %s\n' ${server} ${name} "$(dig +short +time=2 +tries=2 A ${name} ${`@${server}`} 2>&1 | tr '\n' ',')"`,
  );
  const result = await transport.run(
    join(
      [
        raw("command -v dig >/dev/null || { echo 'dig not found on the hub (apt install bind9-dnsutils)'; exit 3; }"),
        ...queries,
      ],
      "\n",
    ),
  );
  if (result.code === 3) return { service: "dns", ok: false, detail: firstLine(result.stdout) };
  const answers = new Map(
    result.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const [server, name, answer = ""] = l.split(" ");
        return [`${server} ${name}`, answer.split(",").filter(Boolean)];
      }),
  );
  const wrong = decl.dnsExpectations.filter((e) => !(answers.get(`${e.server} ${e.name}`) ?? []).includes(e.address));
  const servers = [...new Set(decl.dnsExpectations.map((e) => e.server))];
  if (wrong.length === 0)
    return {
      service: "dns",
      ok: true,
      detail: `${decl.dnsExpectations.length / servers.length} local and mesh names answered at ${servers.join(" and ")}`,
    };
  return {
    service: "dns",
    ok: false,
    detail:
      wrong
        .slice(0, 4)
        .map(
          (e) =>
            `${e.name} at ${e.server}: ${(answers.get(`${e.server} ${e.name}`) ?? []).join(",") || "no answer"} (expected ${e.address})`,
        )
        .join("; ") + (wrong.length > 4 ? `; and ${wrong.length - 4} more` : ""),
  };
}

/** Docker's view of a compose service: its container exists and its healthcheck passes. */
async function containerProblems(transport: Transport, decl: HubDeclaration, name: string): Promise<string[]> {
  const status = await transport.run(
    sh`docker ps -a --filter ${`label=com.docker.compose.project=${decl.vars.docker_project}`} --filter ${`label=com.docker.compose.service=${name}`} --format ${"{{.Status}}"} 2>&1`,
  );
  const text = status.stdout.trim();
  if (status.code !== 0) return [`docker ps failed: ${firstLine(text)}`];
  if (!text) return [`no container of ${name} in project ${decl.vars.docker_project}`];
  return text.includes("(healthy)") ? [] : [`container ${text}`];
}

/**
 * Another service, by its declared health probe. Native: the probe runs on the hub against the service's address.
 * Compose: the probe runs inside the container (its own tools, as its healthcheck does), Docker must call it healthy,
 * and an HTTP service must also answer on the address it is published on, from the hub.
 */
async function checkProbe(transport: Transport, decl: HubDeclaration, s: DeclaredService): Promise<CheckResult> {
  const inside = s.runner === "compose";
  const host = inside && !s.spec.hostNetwork ? "127.0.0.1" : s.address;
  const { shell, expect } = probeCommand(s.spec, {
    host,
    port: s.spec.port,
    domain: decl.vars.dns_domain,
    postgresUser: decl.vars.docker_postgres_user,
  });
  const tool = shell.split(" ")[0];
  const where = `${host}:${s.spec.port}${inside ? ` in its container` : ""}`;
  const command = inside
    ? sh`id=$(docker ps -q --filter ${`label=com.docker.compose.project=${decl.vars.docker_project}`} --filter ${`label=com.docker.compose.service=${s.name}`} 2>/dev/null | head -n 1); [ -n "$id" ] || { echo 'no running container'; exit 125; }; docker exec "$id" sh -c ${shell} 2>&1`
    : sh`command -v ${tool} >/dev/null || { echo ${`${tool} not found on the hub`}; exit 127; }; ${raw(shell)} 2>&1`;
  const probe = await transport.run(command, { timeoutMs: 15_000 });
  const problems: string[] = [];
  if (probe.code !== 0)
    problems.push(
      `probe ${tool} at ${where} exited ${probe.code}${firstLine(probe.stdout) ? `: ${firstLine(probe.stdout).slice(0, 160)}` : ""}`,
    );
  else if (expect && !probe.stdout.includes(expect)) problems.push(`probe at ${where} answered without "${expect}"`);
  if (inside) {
    problems.push(...(await containerProblems(transport, decl, s.name)));
    if (!s.spec.hostNetwork && (s.spec.probe.kind === "http" || s.spec.probe.kind === "metrics")) {
      const url = `http://${s.address}:${s.spec.port}${s.spec.probe.path ?? "/"}`;
      const outside = await transport.run(
        sh`if command -v wget >/dev/null; then wget -q -T 4 -O /dev/null ${url}; else curl -fsS -m 4 -o /dev/null ${url}; fi 2>&1`,
      );
      if (outside.code !== 0) problems.push(`not reachable from the hub at ${url}`);
    }
  }
  return problems.length
    ? { service: s.name, ok: false, detail: problems.join("; ") }
    : {
        service: s.name,
        ok: true,
        detail: `${tool} at ${where}${expect ? ` (${expect})` : ""}${inside ? ", container healthy" : ""}`,
      };
}

export async function checkServices(transport: Transport, decl: HubDeclaration): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const s of decl.services) {
    if (s.name !== "dns") {
      results.push(await checkProbe(transport, decl, s));
      continue;
    }
    const dns = await checkDns(transport, decl);
    const container = s.runner === "compose" ? await containerProblems(transport, decl, "dns") : [];
    results.push(
      container.length
        ? { service: "dns", ok: false, detail: [dns.ok ? "" : dns.detail, ...container].filter(Boolean).join("; ") }
        : dns,
    );
  }
  return results;
}
