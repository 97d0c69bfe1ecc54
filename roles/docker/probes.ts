// Health probes of the stack's services: one declaration, run as the container's healthcheck and by test-local-services.
import { quote } from "../../lib/command.ts";
import type { StackService } from "./stack-types.ts";

export interface ProbeTarget {
  /** Address the probe connects to (127.0.0.1 inside a container; the service's address on the hub). */
  host: string;
  port: number;
  /** Local DNS domain ("mesh"): the DNS probe asks for hub.<domain>. */
  domain: string;
  postgresUser: string;
}

/** The probe as a shell command line (quoted), and what its output must contain beyond exit code 0. */
export function probeCommand(service: StackService, t: ProbeTarget): { shell: string; expect?: string } {
  const p = service.probe;
  const url = `http://${t.host}:${t.port}${p.path ?? "/"}`;
  const argv = (...parts: (string | number)[]) => parts.map((x) => quote(String(x))).join(" ");
  switch (p.kind) {
    case "http":
      return { shell: argv("wget", "-q", "-T", "4", "-O", "/dev/null", url) };
    case "metrics":
      return { shell: argv("wget", "-q", "-T", "4", "-O", "-", url), expect: p.expect };
    case "dns":
      return { shell: argv("nslookup", `hub.${t.domain}`, t.host), expect: `hub.${t.domain}` };
    case "postgres":
      return { shell: argv("pg_isready", "-h", t.host, "-p", t.port, "-U", t.postgresUser, "-t", "4") };
    case "redis":
      return { shell: argv("redis-cli", "-h", t.host, "-p", t.port, "ping"), expect: "PONG" };
  }
}

/** The compose healthcheck test: the probe, with its expected text checked by grep. */
export function healthcheckTest(service: StackService, t: ProbeTarget): string[] {
  const { shell, expect } = probeCommand(service, t);
  return ["CMD-SHELL", expect ? `${shell} | grep -q ${quote(expect)}` : shell];
}
