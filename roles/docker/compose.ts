// The hub's compose file, built as an object and written with YAML.stringify (see buildStack for why), plus its env files.
import { createHash } from "node:crypto";
import YAML from "yaml";
import { UserError } from "../../lib/errors.ts";
import type { ServiceSecrets } from "../../lib/secrets/service-secrets.ts";
import type { dockerDefaults } from "./defaults.ts";
import { healthcheckTest } from "./probes.ts";
import type { PublishOn, StackService } from "./stack-types.ts";

export type DockerVars = typeof dockerDefaults;

export const STACK_SERVICES = [
  "barter-cache",
  "mutual-credit",
  "brainjoos-sync",
  "emergency-broadcast",
  "dns",
  "postgres",
  "redis",
  "node-exporter",
  "cadvisor",
] as const;
export const CONFIG_HASH_LABEL = "org.meshisp.config-hash";

export interface StackInput {
  vars: DockerVars;
  hostName: string;
  mesh: string;
  lan?: string;
  domain: string;
  /** The dns role's directory and files (the dns service mounts them; dnsmasq.conf is part of its config hash). */
  dns: { dir: string; conf: string; hosts: string };
  secrets: ServiceSecrets;
}

interface EnvFile {
  path: string;
  /** Holds passwords: written 0600 with `secret: true`, never shown. */
  content: string;
}

export interface Stack {
  yaml: string;
  envFiles: EnvFile[];
  /** Per service: sha256 of what its container is made of; the container carries it as a label. */
  hashes: Record<string, string>;
}

/** Where a port may be published: the hub's mesh IP, its LAN address, loopback, or addresses the inventory allows. */
function publishAddresses(name: string, s: StackService, input: StackInput): string[] {
  const allowed = input.vars.docker_extra_publish_addresses;
  return (s.publish ?? []).flatMap((on: PublishOn) => {
    if (on === "mesh") return [input.mesh];
    if (on === "lan") return input.lan ? [input.lan] : [];
    if (on === "loopback") return ["127.0.0.1"];
    if (allowed.includes(on)) return [on];
    throw new UserError(
      `${input.hostName}: docker_services.${name}.publish has "${on}", which is not mesh, lan, loopback or in docker_extra_publish_addresses`,
      `publishing beyond the hub's mesh and LAN addresses must be asked for: add "${on}" to docker_extra_publish_addresses`,
    );
  });
}

/**
 * Built as an object, not a template: ports, healthchecks and env files are computed per service, the result is
 * valid YAML by construction (no indentation or quoting slips), and the unit tests validate that same object against
 * the compose schema. Limits use mem_limit/cpus/pids_limit, which docker-compose 1.29 and compose v2 both apply
 * (deploy.resources needs --compatibility on 1.29).
 */
export function buildStack(input: StackInput): Stack {
  const v = input.vars;
  const declared = Object.keys(v.docker_services);
  const missing = STACK_SERVICES.filter((n) => !declared.includes(n));
  if (missing.length)
    throw new UserError(
      `${input.hostName}: docker_services lacks ${missing.join(", ")}: the hub's stack has nine services`,
      "override a service's fields, do not remove it",
    );
  const secretsDir = v.docker_secrets_dir;
  const pgPassword = input.secrets.get("postgres_password").reveal();
  const envFiles: EnvFile[] = [
    {
      path: `${secretsDir}/postgres.env`,
      content: `POSTGRES_USER=${v.docker_postgres_user}\nPOSTGRES_DB=${v.docker_postgres_db}\nPOSTGRES_PASSWORD=${pgPassword}\n`,
    },
  ];
  const services: Record<string, Record<string, unknown>> = {};
  const volumes: Record<string, Record<string, never>> = {};
  for (const name of declared) {
    const s = v.docker_services[name];
    const probeHost = s.hostNetwork ? input.mesh : "127.0.0.1";
    const svc: Record<string, unknown> = {
      image: s.image,
      restart: v.docker_restart,
      healthcheck: {
        test: healthcheckTest(s, {
          host: probeHost,
          port: s.port,
          domain: input.domain,
          postgresUser: v.docker_postgres_user,
        }),
        interval: v.docker_health_interval,
        timeout: v.docker_health_timeout,
        retries: v.docker_health_retries,
        start_period: v.docker_health_start_period,
      },
      mem_limit: s.memory,
      cpus: s.cpus,
      pids_limit: 512,
      logging: {
        driver: "json-file",
        options: { "max-size": v.docker_log_max_size, "max-file": String(v.docker_log_max_files) },
      },
    };
    if (s.hostNetwork) svc.network_mode = "host";
    else svc.ports = publishAddresses(name, s, input).map((ip) => `${ip}:${s.port}:${s.port}`);
    if (s.volume) {
      volumes[`${name}-data`] = {};
      svc.volumes = [`${name}-data:${s.volume}`];
    }
    if (s.uses?.length) svc.depends_on = Object.fromEntries(s.uses.map((u) => [u, { condition: "service_healthy" }]));
    Object.assign(svc, specifics(name, s, input, envFiles));
    services[name] = svc;
  }
  // One hash per service: its own definition, the env file it reads and, for dns, dnsmasq.conf. A change recreates
  // that service only (an enrollment rewrites mesh.hosts, which the dns role reloads with SIGHUP instead).
  const hashes: Record<string, string> = {};
  for (const [name, svc] of Object.entries(services)) {
    const envs = ((svc.env_file as string[] | undefined) ?? []).map(
      (p) => envFiles.find((f) => f.path === p)?.content ?? "",
    );
    hashes[name] = createHash("sha256")
      .update(JSON.stringify(svc))
      .update(envs.join("\n"))
      .update(name === "dns" ? input.dns.conf : "")
      .digest("hex");
    svc.labels = { [CONFIG_HASH_LABEL]: hashes[name] };
  }
  const doc = { services, volumes };
  const header = `# The hub's service stack, written by community-mesh-isp (role docker) for ${input.hostName}. Passwords are in ${secretsDir}, not here.\n`;
  // YAML 1.1 quoting: docker-compose 1.29 reads with PyYAML, where a bare yes/no/on/off is a boolean.
  return { yaml: header + YAML.stringify(doc, { version: "1.1" }), envFiles, hashes };
}

/** What only some services need: the DNS config mount, the exporters' host views, the apps' env files. */
function specifics(name: string, s: StackService, input: StackInput, envFiles: EnvFile[]): Record<string, unknown> {
  const v = input.vars;
  const secretsDir = v.docker_secrets_dir;
  switch (name) {
    case "dns":
      return {
        volumes: [`${input.dns.dir}:${input.dns.dir}:ro`],
        entrypoint: ["dnsmasq"],
        command: ["--keep-in-foreground", `--conf-file=${input.dns.dir}/dnsmasq.conf`],
      };
    case "postgres":
      return { env_file: [`${secretsDir}/postgres.env`] };
    case "redis":
      return {
        command: ["redis-server", "--appendonly", "yes", "--maxmemory", "96mb", "--maxmemory-policy", "allkeys-lru"],
      };
    case "node-exporter":
      return {
        pid: "host",
        volumes: ["/:/host:ro,rslave"],
        command: ["--path.rootfs=/host", `--web.listen-address=${input.mesh}:${s.port}`],
      };
    case "cadvisor":
      return {
        command: [`--port=${s.port}`, "--docker_only=true"],
        volumes: ["/:/rootfs:ro", "/var/run:/var/run:ro", "/sys:/sys:ro", "/var/lib/docker/:/var/lib/docker:ro"],
        devices: ["/dev/kmsg"],
      };
  }
  // A community app: its own secret key, and where its database and cache are.
  const lines = [`APP_SECRET_KEY=${input.secrets.get(`${name}_secret_key`).reveal()}`];
  const pg = input.secrets.get("postgres_password").reveal();
  if (s.uses?.includes("postgres"))
    lines.push(`DATABASE_URL=postgres://${v.docker_postgres_user}:${pg}@postgres:5432/${v.docker_postgres_db}`);
  if (s.uses?.includes("redis")) lines.push("REDIS_URL=redis://redis:6379/0");
  envFiles.push({ path: `${secretsDir}/${name}.env`, content: `${lines.join("\n")}\n` });
  return { env_file: [`${secretsDir}/${name}.env`], environment: { PORT: String(s.port), MESH_DOMAIN: input.domain } };
}
