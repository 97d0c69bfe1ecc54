// The hub's stack: the compose file is valid (schema and docker-compose), publishes only on the hub's addresses, every
// service is limited and health-checked; the docker role's plans from facts (table); secrets never shown.
import { describe, expect, it, beforeAll } from "vitest";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { composeProblems } from "../../lib/compose-schema.ts";
import { UserError } from "../../lib/errors.ts";
import type { Fact, FactReader } from "../../lib/facts/fact.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import { hostContext, inventoryFrom } from "../context.ts";
import type { HostContext } from "../../lib/play.ts";
import type { Resource } from "../../lib/resources/resource.ts";
import { renderDiff } from "../../lib/runner/diff.ts";
import { openSecretsFile, type ServiceSecrets } from "../../lib/secrets/service-secrets.ts";
import { dockerDefaults } from "../../roles/docker/defaults.ts";
import { dockerRole, hubStack } from "../../roles/docker/index.ts";
import { STACK_SERVICES } from "../../roles/docker/compose.ts";

const FAST_ARGON = { memoryKiB: 256, iterations: 1, parallelism: 1 };
const PASSPHRASE = "unit test passphrase";
const dir = mkdtempSync(join(tmpdir(), "meshisp-docker-"));
let secrets: ServiceSecrets;

const INVENTORY = `
groups:
  hub:
    hosts:
      hub:
        address: 10.10.0.2
        os: debian
        mesh_ip: 10.0.4.1
        vars: { lan_subnet: 10.42.0.0/24, docker_enabled: true }
  uplinks:
    hosts:
      uplink-1: { address: 192.168.8.1, os: openwrt, mesh_ip: 10.0.4.65 }
`;

const hubContext = (extra: Record<string, unknown> = {}): HostContext =>
  hostContext(inventoryFrom(INVENTORY, dir), "hub", {
    defaults: dockerDefaults,
    extra: [{ docker_secrets_dir: join(dir, "secrets") }, extra],
  });

const secretValues = () =>
  ["postgres_password", ...STACK_SERVICES.map((s) => `${s}_secret_key`)].map((n) => secrets.get(n).reveal());

beforeAll(async () => {
  secrets = await openSecretsFile(join(dir, "pki-side", "services.key"), PASSPHRASE, FAST_ARGON);
});

describe("the compose file", () => {
  it("validates against the compose specification's JSON schema", () => {
    const doc = YAML.parse(hubStack(hubContext(), secrets).yaml);
    expect(composeProblems(doc)).toEqual([]);
    // The validator is not vacuous: a wrong type is refused.
    expect(
      composeProblems({
        services: { x: { image: "a", restart: "unless-stopped", ports: [{ target: "not a number" }] } },
      }),
    ).not.toEqual([]);
  });

  it("an inventory value the specification refuses is a clear error naming the host and the field, before anything runs", () => {
    const bad = () => hubStack(hubContext({ docker_health_retries: "three" }), secrets);
    expect(bad).toThrow(UserError);
    expect(bad).toThrow(
      /hub \(.*hosts\.yml.*\): the hub stack's compose file would be invalid:\n  \/services\/[a-z-]+\/healthcheck\/retries: must be number/,
    );
  });

  it("is accepted by docker-compose config -q (Debian's docker-compose 1.29)", () => {
    const stack = hubStack(hubContext(), secrets);
    mkdirSync(join(dir, "secrets"), { recursive: true });
    for (const f of stack.envFiles) writeFileSync(f.path, f.content, { mode: 0o600 });
    writeFileSync(join(dir, "compose.yml"), stack.yaml);
    const run = spawnSync("docker-compose", ["-p", "meshisp", "-f", join(dir, "compose.yml"), "config", "-q"], {
      encoding: "utf8",
    });
    expect(run.error, "docker-compose is installed by scripts/setup.sh").toBeUndefined();
    expect(run.status, run.stderr).toBe(0);
    // And it refuses a broken file, so the check above means something.
    writeFileSync(join(dir, "broken.yml"), stack.yaml.replace("restart: unless-stopped", "restart: [1, 2]"));
    expect(spawnSync("docker-compose", ["-f", join(dir, "broken.yml"), "config", "-q"]).status).not.toBe(0);
  });

  it("has the nine services, each with a healthcheck, a restart policy and limits", () => {
    const doc = YAML.parse(hubStack(hubContext(), secrets).yaml);
    expect(Object.keys(doc.services).sort()).toEqual([...STACK_SERVICES].sort());
    for (const [name, s] of Object.entries<Record<string, any>>(doc.services)) {
      expect(s.healthcheck?.test?.length, name).toBeGreaterThan(1);
      expect(s.restart, name).toBe("unless-stopped");
      expect(s.mem_limit, name).toMatch(/^\d+m$/);
      expect(s.cpus, name).toBeGreaterThan(0);
      expect(s.labels["org.meshisp.config-hash"], name).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(Object.keys(doc.volumes)).toContain("postgres-data");
    expect(doc.services.postgres.volumes).toEqual(["postgres-data:/var/lib/postgresql/data"]);
    expect(doc.services["mutual-credit"].depends_on).toEqual({ postgres: { condition: "service_healthy" } });
    expect(doc.services.dns).toMatchObject({ network_mode: "host", volumes: ["/etc/meshisp/dns:/etc/meshisp/dns:ro"] });
  });

  it("publishes ports only as <hub address>:<port>:<port> on the mesh IP, the LAN address or loopback", () => {
    const doc = YAML.parse(hubStack(hubContext(), secrets).yaml);
    const ports = Object.values<Record<string, any>>(doc.services).flatMap((s) => s.ports ?? []);
    expect(ports.length).toBeGreaterThan(5);
    for (const p of ports) {
      const m = /^(\d+\.\d+\.\d+\.\d+):(\d+):(\d+)$/.exec(p);
      expect(m, p).not.toBeNull();
      expect(["10.0.4.1", "10.42.0.1", "127.0.0.1"], p).toContain(m![1]);
      expect(m![2]).toBe(m![3]);
    }
    expect(doc.services["barter-cache"].ports).toEqual(["10.0.4.1:8081:8081", "10.42.0.1:8081:8081"]);
    expect(doc.services.postgres.ports).toEqual(["127.0.0.1:5432:5432"]);
    expect(JSON.stringify(doc)).not.toContain("0.0.0.0");
  });

  it("refuses to publish anywhere else unless the inventory allows that address", () => {
    const wide = { docker_services: { redis: { publish: ["loopback", "0.0.0.0"] } } };
    expect(() => hubStack(hubContext(wide), secrets)).toThrow(/publish has "0.0.0.0".*docker_extra_publish_addresses/);
    const doc = YAML.parse(
      hubStack(hubContext({ ...wide, docker_extra_publish_addresses: ["0.0.0.0"] }), secrets).yaml,
    );
    expect(doc.services.redis.ports).toEqual(["127.0.0.1:6379:6379", "0.0.0.0:6379:6379"]);
  });

  it("changes one service's hash when only that service changes", () => {
    const a = hubStack(hubContext(), secrets).hashes;
    const b = hubStack(
      hubContext({ docker_services: { redis: { image: "docker.io/library/redis:7.4-alpine" } } }),
      secrets,
    ).hashes;
    const changed = Object.keys(a).filter((k) => a[k] !== b[k]);
    expect(changed).toEqual(["redis"]);
  });
});

// ---- The role's plans, from facts ----

type Probe = string | [string, number];
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

interface HostState {
  installed: boolean;
  daemon: "running" | "stopped" | "absent";
  engine: "up" | "down" | "absent";
  /** Files on the host: as the role would write them, absent, or the compose file differs. */
  files: "same" | "absent" | "compose-differs";
  /** Containers of the project: with the stack's hashes, none, or redis with an old hash. */
  containers: "current" | "none" | "redis-old";
}

function probesFor(ctx: HostContext, state: HostState): (key: string) => Probe {
  const stack = hubStack(ctx, secrets);
  const contents = new Map<string, string>([
    ...stack.envFiles.map((f) => [f.path, f.content] as [string, string]),
    ["/opt/meshisp/compose.yml", stack.yaml],
  ]);
  return (key) => {
    const [kind, rest] = [key.slice(0, key.indexOf(":")), key.slice(key.indexOf(":") + 1)];
    if (kind === "packages") return state.installed ? "docker.io ii \ndocker-compose ii \n" : "";
    if (kind === "service")
      return { running: "exists\nenabled\nactive\n", stopped: "exists\nenabled\ninactive\n", absent: "" }[state.daemon];
    if (kind === "sysctl") return "1\n";
    if (kind === "content") return "net.ipv4.ip_nonlocal_bind = 1\n";
    if (kind === "path") {
      const content = contents.get(rest);
      // The path probe's lines (lib/facts/files.ts): type, ls's mode string and size, owner, group, sha256sum's line.
      if (content === undefined)
        return state.files === "absent"
          ? "absent\n"
          : `directory\n${rest.includes("secrets") ? "drwx------" : "drwxr-xr-x"} 4096\nroot\nroot\n`;
      if (state.files === "absent") return "absent\n";
      const mode = rest.endsWith(".env") ? "-rw-------" : "-rw-r--r--";
      const hash = state.files === "compose-differs" && rest.endsWith("compose.yml") ? sha("old") : sha(content);
      return `file\n${mode} ${content.length}\nroot\nroot\n${hash}  -\n`;
    }
    if (kind === "docker-engine") {
      if (state.engine === "absent") return "cli=absent\n";
      if (state.engine === "down")
        return "cli=present\nerror=Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n";
      const lines =
        state.containers === "none"
          ? []
          : Object.entries(stack.hashes).map(
              ([name, h]) =>
                `container=${name} running ${state.containers === "redis-old" && name === "redis" ? sha("old") : h}`,
            );
      return ["cli=present", "engine=20.10.24+dfsg1", ...lines].join("\n") + "\n";
    }
    throw new Error(`no probe for ${key}`);
  };
}

function planRole(ctx: HostContext, state: HostState, roleSecrets: ServiceSecrets | undefined = secrets) {
  const resources: Resource[] = dockerRole(roleSecrets).tasks(ctx);
  const probe = probesFor(ctx, state);
  const read: FactReader = <T>(fact: Fact<T>): T => {
    const p = probe(fact.key);
    const [stdout, code] = typeof p === "string" ? [p, 0] : p;
    return fact.parse({ stdout, code });
  };
  const plans = resources
    .map((r) => ({ resource: r, plan: r.plan(read) }))
    .filter((p) => p.plan && p.plan.commands.length);
  return {
    changed: plans.map((p) => p.resource.name),
    commands: plans.flatMap((p) => p.plan!.commands.map((c) => c.display())),
    rendered: plans.flatMap((p) => p.plan!.commands.map((c) => c.render())),
    diffs: plans.filter((p) => p.plan!.diff).map((p) => renderDiff(p.plan!.diff!, null)),
    summaries: plans.map((p) => p.plan!.summary ?? ""),
  };
}

const table: {
  name: string;
  state: HostState;
  extra?: Record<string, unknown>;
  expect: RegExp[];
  not?: RegExp[];
  quiet?: boolean;
}[] = [
  {
    name: "no docker -> install from Debian, start the engine, write the files, bring the stack up",
    state: { installed: false, daemon: "absent", engine: "absent", files: "absent", containers: "none" },
    expect: [
      /apt-get install .*docker\.io docker-compose/,
      /systemctl enable docker/,
      /systemctl start docker/,
      /compose\.yml\.meshisp-new/,
      /docker version >\/dev\/null .*\|\| \{ echo .*exit 1; \}/,
      /^docker-compose -p meshisp -f \/opt\/meshisp\/compose\.yml up -d --remove-orphans$/,
    ],
  },
  {
    name: "installed, files the same, every container current -> nothing",
    state: { installed: true, daemon: "running", engine: "up", files: "same", containers: "current" },
    expect: [],
    quiet: true,
  },
  {
    name: "compose file changed, redis's container has the old hash -> write it and up -d",
    state: { installed: true, daemon: "running", engine: "up", files: "compose-differs", containers: "redis-old" },
    expect: [/compose\.yml\.meshisp-new/, /docker-compose -p meshisp .* up -d/],
    not: [/apt-get/, /^systemctl/, /\.postgres\.env\.meshisp-new/],
  },
  {
    name: "engine stopped -> the service starts it, then up -d (checked in the same script)",
    state: { installed: true, daemon: "stopped", engine: "down", files: "same", containers: "none" },
    expect: [/systemctl start docker/, /docker-compose -p meshisp .* up -d/],
  },
  {
    name: "Docker's own repository -> its key, its source line, docker-ce, docker compose v2",
    state: { installed: false, daemon: "absent", engine: "absent", files: "absent", containers: "none" },
    extra: { docker_source: "docker" },
    expect: [
      /curl -fsSL https:\/\/download\.docker\.com\/linux\/debian\/gpg -o \/etc\/apt\/keyrings\/docker\.asc/,
      /docker\.list/,
      /apt-get install .*docker-ce docker-ce-cli containerd\.io docker-compose-plugin/,
      /^docker compose -p meshisp/,
    ],
    not: [/apt-get install .*docker\.io/],
  },
];

describe("the docker role's plans", () => {
  it.each(table)("$name", ({ state, extra, expect: wanted, not, quiet }) => {
    const { commands } = planRole(hubContext(extra), state);
    if (quiet) expect(commands).toEqual([]);
    for (const re of wanted)
      expect(
        commands.some((c) => re.test(c)),
        `${re} in\n${commands.map((c) => c.slice(0, 160)).join("\n")}`,
      ).toBe(true);
    for (const re of not ?? [])
      expect(
        commands.some((c) => re.test(c)),
        `${re} should not be in\n${commands.map((c) => c.slice(0, 160)).join("\n")}`,
      ).toBe(false);
  });

  it("engine installed and said to run but not answering -> a clear error naming the host and what to do", () => {
    const state: HostState = { installed: true, daemon: "running", engine: "down", files: "same", containers: "none" };
    let error: unknown;
    try {
      planRole(hubContext(), state);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toMatch(
      /^hub: Docker's engine is not available \(Cannot connect to the Docker daemon/,
    );
    expect((error as UserError).hint).toMatch(/systemctl start docker.*docker_enabled: false for hub/);
  });

  it("docker_enabled false -> one task that says so, nothing probed, nothing run", () => {
    const ctx = hubContext({ docker_enabled: false });
    const resources = dockerRole(secrets).tasks(ctx);
    expect(resources).toHaveLength(1);
    expect(resources[0].name).toMatch(/Leave out the container stack on hub \(docker_enabled is not true\)/);
    expect(resources[0].facts).toEqual([]);
  });

  it("a misspelt docker_source is refused when the inventory loads, with its file and line", () => {
    const file = join(dir, "bad.yml");
    writeFileSync(file, INVENTORY.replace("docker_enabled: true", "docker_enabled: true, docker_source: dockr"));
    expect(() => loadInventory(file)).toThrow(/bad\.yml:\d+: .*docker_source/);
  });

  it("a playbook without the secrets (enrollment) leaves the stack as it is", () => {
    const resources = dockerRole(undefined).tasks(hubContext());
    expect(resources.map((r) => r.name)).toEqual([expect.stringMatching(/as it is/)]);
  });
});

describe("the stack's secrets", () => {
  it("are generated once, sealed at rest, and the same when opened again", async () => {
    const file = join(dir, "pki-side", "services.key");
    const sealed = readFileSync(file, "utf8");
    expect(sealed).toMatch(/^-----BEGIN NEBULA ED25519 ENCRYPTED PRIVATE KEY-----/);
    const again = await openSecretsFile(file, PASSPHRASE);
    expect(again.get("postgres_password").reveal()).toBe(secrets.get("postgres_password").reveal());
    expect(readFileSync(file, "utf8")).toBe(sealed);
    for (const value of secretValues()) {
      expect(value).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(sealed).not.toContain(value);
    }
    await expect(openSecretsFile(file, "the wrong passphrase")).rejects.toThrow(/wrong passphrase/);
  });

  it("never appear in the compose file, in -v commands, in --diff, in summaries or in task names", () => {
    const ctx = hubContext();
    const stack = hubStack(ctx, secrets);
    const fresh = planRole(ctx, {
      installed: false,
      daemon: "absent",
      engine: "absent",
      files: "absent",
      containers: "none",
    });
    const shown = [stack.yaml, ...fresh.commands, ...fresh.diffs, ...fresh.summaries, ...fresh.changed].join("\n");
    for (const value of secretValues()) expect(shown).not.toContain(value);
    expect(String(secrets.get("postgres_password"))).toBe("***");
    // They do reach the host: the commands that run carry them, in the 0600 env files.
    expect(fresh.rendered.join("\n")).toContain(secrets.get("postgres_password").reveal());
    const envDiffs = fresh.diffs.filter((d) => /^--- \S+\.env\n/.test(d));
    expect(envDiffs).toHaveLength(5);
    for (const d of envDiffs) expect(d).toContain("(secret content created; not shown)");
    expect(fresh.commands.filter((c) => c.includes("postgres.env")).some((c) => /chmod 0600/.test(c))).toBe(true);
  });
});
