// The docker role: Docker Engine and compose on the Debian hub, and the hub's nine-service stack, restarted only when it changed.
import { sh } from "../../lib/command.ts";
import YAML from "yaml";
import { composeProblems } from "../../lib/compose-schema.ts";
import { UserError } from "../../lib/errors.ts";
import type { HostContext, Role } from "../../lib/play.ts";
import type { ServiceSecrets } from "../../lib/secrets/service-secrets.ts";
import { guardedCommand } from "../../lib/resources/command.ts";
import { directory } from "../../lib/resources/directory.ts";
import { file } from "../../lib/resources/file.ts";
import { packages } from "../../lib/resources/package.ts";
import type { Resource } from "../../lib/resources/resource.ts";
import { service } from "../../lib/resources/service.ts";
import { sysctl } from "../../lib/resources/sysctl.ts";
import { dnsVarsOf, hubAddresses, renderDnsFiles } from "../dns/records.ts";
import { buildStack, type DockerVars, type Stack } from "./compose.ts";
import { dockerDefaults, dockerSourceVars } from "./defaults.ts";
import { stackDeployed } from "./engine.ts";

/** A task that only says why nothing else happens (shown as ok in the run's log). */
const note = (name: string): Resource => ({ name, facts: [], plan: () => null });

const debArch = (arch: string) => ({ x86_64: "amd64", aarch64: "arm64", armv7l: "armhf" })[arch] ?? arch;

/** The stack as it would be written for this host (also used by the unit tests). */
export function hubStack(ctx: HostContext, secrets: ServiceSecrets): Stack {
  const vars = ctx.vars as DockerVars & Record<string, unknown>;
  const { mesh, lan } = hubAddresses(ctx);
  const stack = buildStack({
    vars,
    hostName: ctx.host.name,
    mesh,
    lan,
    domain: dnsVarsOf(ctx).dns_domain,
    dns: renderDnsFiles(ctx),
    secrets,
  });
  // Inventory values (images, limits, ports) end up in the file: refuse one the engine would refuse, before touching the hub.
  const problems = composeProblems(YAML.parse(stack.yaml, { version: "1.1" }));
  if (problems.length)
    throw new UserError(
      `${ctx.host.name} (${ctx.host.source}): the hub stack's compose file would be invalid:\n  ${problems.join("\n  ")}`,
      "check the docker_* variables in the inventory",
    );
  return stack;
}

/** The engine from Debian's packages, or from Docker's apt repository (its key, then the source line). */
function engineResources(ctx: HostContext, v: DockerVars): Resource[] {
  const source = dockerSourceVars[v.docker_source];
  if (!source)
    throw new UserError(`${ctx.host.name}: docker_source is "${v.docker_source}"; it must be "debian" or "docker"`);
  const install = packages({ names: [...source.packages], os: ctx.os });
  if (v.docker_source === "debian") return [install];
  const key = "/etc/apt/keyrings/docker.asc";
  return [
    directory({ path: "/etc/apt/keyrings", mode: "0755" }),
    guardedCommand({
      name: `Fetch Docker's apt signing key into ${key}`,
      command: sh`curl -fsSL ${v.docker_apt_key_url} -o ${key} && chmod 0644 ${key}`,
      creates: key,
    }),
    file({
      path: "/etc/apt/sources.list.d/docker.list",
      content: `deb [arch=${debArch(ctx.facts.arch)} signed-by=${key}] ${v.docker_apt_repository} ${v.docker_apt_codename} stable\n`,
    }),
    install,
  ];
}

export function dockerRole(secrets?: ServiceSecrets): Role {
  return {
    name: "docker",
    defaults: dockerDefaults,
    tasks(ctx) {
      const v = ctx.vars as DockerVars & Record<string, unknown>;
      if (v.docker_enabled !== true)
        return [note(`Leave out the container stack on ${ctx.host.name} (docker_enabled is not true)`)];
      if (ctx.os !== "debian")
        throw new UserError(
          `${ctx.host.name}: the container stack runs on a Debian hub, not on ${ctx.os}`,
          "set docker_enabled: false for this host",
        );
      // Enrollment updates the hub without the stack's secrets: the stack stays as it is (the dns role reloads names).
      if (!secrets)
        return [
          note(
            `Leave the container stack on ${ctx.host.name} as it is (this playbook does not unlock its secrets; tasks/deploy-hub.ts does)`,
          ),
        ];
      const stack = hubStack(ctx, secrets);
      const composeFile = `${v.docker_dir}/compose.yml`;
      return [
        ...engineResources(ctx, v),
        service({ name: "docker", init: ctx.facts.init }),
        // Published ports bind the mesh IP, which appears only once Nebula is up: allow binding it before.
        sysctl({ key: "net.ipv4.ip_nonlocal_bind", value: 1 }),
        directory({ path: v.docker_dir, mode: "0755" }),
        directory({ path: v.docker_secrets_dir, mode: "0700" }),
        ...stack.envFiles.map((f) => file({ path: f.path, content: f.content, mode: "0600", secret: true })),
        file({ path: composeFile, content: stack.yaml, mode: "0644" }),
        stackDeployed({
          hostName: ctx.host.name,
          project: v.docker_project,
          composeFile,
          compose: dockerSourceVars[v.docker_source].compose,
          hashes: stack.hashes,
          init: ctx.facts.init,
        }),
      ];
    },
  };
}
