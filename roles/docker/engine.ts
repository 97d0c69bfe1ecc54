// What Docker on the hub is doing now (a fact), and the resource that brings the stack up when it differs from the file.
import { sh, type Command } from "../../lib/command.ts";
import { UserError } from "../../lib/errors.ts";
import { defineFact, type Fact } from "../../lib/facts/fact.ts";
import { serviceFact } from "../../lib/facts/system.ts";
import type { InitSystem } from "../../lib/facts/host.ts";
import type { Resource } from "../../lib/resources/resource.ts";
import { CONFIG_HASH_LABEL } from "./compose.ts";

interface StackContainer {
  service: string;
  state: string;
  hash: string;
}

interface EngineState {
  /** The docker command exists. */
  cli: boolean;
  /** The engine answered (its version), or null with the error it gave. */
  engine: string | null;
  error?: string;
  /** The project's containers, by compose service name. */
  containers: StackContainer[];
}

const engineFact = (project: string): Fact<EngineState> =>
  defineFact(
    `docker-engine:${project}`,
    sh`command -v docker >/dev/null 2>&1 || { echo cli=absent; exit 0; }; echo cli=present; if v=$(docker version --format ${"{{.Server.Version}}"} 2>&1); then echo "engine=$v"; else echo "error=$(printf '%s' "$v" | tr '\n' ' ' | cut -c1-300)"; exit 0; fi; docker ps -a --filter ${`label=com.docker.compose.project=${project}`} --format ${`container={{.Label "com.docker.compose.service"}} {{.State}} {{.Label "${CONFIG_HASH_LABEL}"}}`}`,
    ({ stdout }) => {
      const lines = stdout.split("\n");
      const value = (k: string) => lines.find((l) => l.startsWith(`${k}=`))?.slice(k.length + 1);
      const containers = lines
        .filter((l) => l.startsWith("container="))
        .map((l) => {
          const [service = "", state = "", hash = ""] = l.slice("container=".length).split(" ");
          return { service, state, hash };
        });
      return { cli: value("cli") === "present", engine: value("engine") ?? null, error: value("error"), containers };
    },
  );

export interface StackDeploySpec {
  hostName: string;
  project: string;
  composeFile: string;
  /** ["docker-compose"] or ["docker", "compose"]. */
  compose: readonly string[];
  /** Config hash per service (see compose.ts). */
  hashes: Record<string, string>;
  init: InitSystem;
}

/** Why the stack must be (re)started, or [] when every service runs with this configuration. */
function stackDrift(state: EngineState, hashes: Record<string, string>): string[] {
  const reasons: string[] = [];
  for (const [name, hash] of Object.entries(hashes)) {
    const c = state.containers.filter((x) => x.service === name);
    if (c.length === 0) reasons.push(`${name} missing`);
    else if (c.some((x) => x.hash !== hash)) reasons.push(`${name} configuration changed`);
    else if (c.some((x) => x.state !== "running"))
      reasons.push(`${name} ${c.find((x) => x.state !== "running")!.state}`);
  }
  return reasons;
}

/** `compose up -d` only when the running containers differ from the file (read from their config-hash label). */
export function stackDeployed(spec: StackDeploySpec): Resource {
  const engine = engineFact(spec.project);
  const daemon = serviceFact("docker", spec.init);
  const unavailable = (why: string) =>
    new UserError(
      `${spec.hostName}: Docker's engine is not available (${why}), so the hub's service stack cannot run`,
      `start it (systemctl start docker; its log: journalctl -u docker), or set docker_enabled: false for ${spec.hostName} to deploy the hub without the stack`,
    );
  return {
    name: `Run the hub's service stack (${spec.composeFile})`,
    facts: [engine, daemon],
    plan(read) {
      const now = read(engine);
      // Installed, said to be running, and still not answering: starting it again will not help.
      if (now.cli && now.engine === null && read(daemon).running) throw unavailable(now.error ?? "no answer");
      const drift =
        now.engine === null ? ["Docker is being installed or started by this run"] : stackDrift(now, spec.hashes);
      if (drift.length === 0) return null;
      const check: Command = sh`docker version >/dev/null 2>&1 || { echo ${`${spec.hostName}: Docker's engine does not answer after installing and starting it; see systemctl status docker and journalctl -u docker, or set docker_enabled: false`} >&2; exit 1; }`;
      const up = sh`${[...spec.compose]} -p ${spec.project} -f ${spec.composeFile} up -d --remove-orphans`;
      return { commands: [check, up], summary: drift.join(", ") };
    },
  };
}
