// An image missing at deploy time: refused before anything on the hub changes (plan time, when the engine answers), or
// by the step before `up` (a run that installed or started the engine); the probe and the step run under dash against
// a stand-in `docker`.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../../lib/errors.ts";
import { planOne } from "../helpers/plan.ts";
import { stackDeployed } from "../../roles/docker/engine.ts";
import { imagesFact, imagesPresentCheck, missingImagesError } from "../../roles/docker/images.ts";

const IMAGES = {
  "barter-cache": "ghcr.io/wopr-mesh/barter-cache:1.0.0",
  postgres: "docker.io/library/postgres:15-alpine",
  redis: "docker.io/library/redis:7.2-alpine",
};
const HASHES = { "barter-cache": "h1", postgres: "h2", redis: "h3" };
const spec = {
  hostName: "hub",
  project: "meshisp",
  composeFile: "/opt/meshisp/compose.yml",
  compose: ["docker-compose"],
  hashes: HASHES,
  images: IMAGES,
  init: "systemd" as const,
};

/** Probe outputs for stackDeployed: the engine's answer, its containers, the images it lacks. */
function probes(state: { engine: "up" | "absent"; containers: "current" | "redis-old" | "none"; absent: string[] }) {
  return (key: string) => {
    if (key.startsWith("docker-engine:")) {
      if (state.engine === "absent") return "cli=absent\n";
      const containers =
        state.containers === "none"
          ? []
          : Object.entries(HASHES).map(
              ([s, h]) => `container=${s} running ${state.containers === "redis-old" && s === "redis" ? "old" : h}`,
            );
      return ["cli=present", "engine=20.10.24+dfsg1", ...containers].join("\n");
    }
    if (key.startsWith("service:")) return state.engine === "absent" ? "" : "exists\nenabled\nactive\n";
    if (key.startsWith("docker-images:"))
      return state.engine === "absent"
        ? "cli=absent\n"
        : ["cli=present", ...state.absent.map((i) => `absent=${i}`)].join("\n");
    return undefined;
  };
}

describe("the stack is never brought up with an image missing", () => {
  const rows: {
    name: string;
    state: Parameters<typeof probes>[0];
    refused?: RegExp;
    commands?: RegExp[];
  }[] = [
    {
      name: "every image there, redis changed -> the check step, then up",
      state: { engine: "up", containers: "redis-old", absent: [] },
      commands: [
        /^docker version/,
        /^\{ missing=; docker image inspect --format \. /,
        /^docker-compose -p meshisp .* up -d --remove-orphans$/,
      ],
    },
    {
      name: "redis's image gone, redis changed -> refused at plan time naming host, service and image",
      state: { engine: "up", containers: "redis-old", absent: ["docker.io/library/redis:7.2-alpine"] },
      refused:
        /^hub: the image of service redis \(docker\.io\/library\/redis:7\.2-alpine\) is not on the hub, so the stack was not started or changed \(nothing running was stopped\)\. To fix: load it on hub \(docker load -i FILE\.tar, made with docker save docker\.io\/library\/redis:7\.2-alpine/,
    },
    {
      name: "an unchanged service's image gone, another service changed -> refused too (compose would pull it)",
      state: { engine: "up", containers: "redis-old", absent: ["ghcr.io/wopr-mesh/barter-cache:1.0.0"] },
      refused: /the image of service barter-cache \(ghcr\.io\/wopr-mesh\/barter-cache:1\.0\.0\) is not on the hub/,
    },
    {
      name: "two gone, first deploy -> both named",
      state: {
        engine: "up",
        containers: "none",
        absent: ["docker.io/library/postgres:15-alpine", "docker.io/library/redis:7.2-alpine"],
      },
      refused:
        /the images of services postgres \(docker\.io\/library\/postgres:15-alpine\), redis \(docker\.io\/library\/redis:7\.2-alpine\) are not on the hub/,
    },
    {
      name: "an image gone but nothing to change -> nothing (the running stack is left alone)",
      state: { engine: "up", containers: "current", absent: ["docker.io/library/redis:7.2-alpine"] },
      commands: [],
    },
    {
      name: "no engine yet (this run installs it) -> the check runs as the step before up",
      state: { engine: "absent", containers: "none", absent: [] },
      commands: [/^docker version/, /^\{ missing=;/, /up -d/],
    },
  ];
  it.each(rows)("$name", ({ state, refused, commands }) => {
    const resource = stackDeployed(spec);
    if (refused) {
      let error: unknown;
      try {
        planOne(resource, probes(state));
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).message).toMatch(refused);
      expect((error as UserError).message).toMatch(/or pull it there \(docker pull /);
      return;
    }
    const plan = planOne(resource, probes(state));
    const shown = plan?.commands.map((c) => c.display()) ?? [];
    expect(shown).toHaveLength(commands!.length);
    commands!.forEach((re, i) => expect(shown[i]).toMatch(re));
  });

  it("the error names the services in the compose file's order, and says what to do", () => {
    const e = missingImagesError("hub", IMAGES, ["docker.io/library/redis:7.2-alpine"]);
    expect(e.hint).toMatch(/^load it on hub .* then run again; or set docker_services\.<service>\.image/);
  });
});

describe("the probe and the step, run under dash against a stand-in docker", () => {
  const root = mkdtempSync(join(tmpdir(), "meshisp-images-"));
  const bin = join(root, "bin");
  mkdirSync(bin);
  // `docker image inspect` fails when any image it is given is in FAKE_ABSENT; calls are counted.
  writeFileSync(
    join(bin, "docker"),
    `#!/bin/sh
echo x >> "$FAKE_CALLS"
[ "$1 $2" = "image inspect" ] || exit 0
shift 4
for i in "$@"; do case " $FAKE_ABSENT " in *" $i "*) exit 1 ;; esac; done
exit 0
`,
  );
  chmodSync(join(bin, "docker"), 0o755);
  const dash = (script: string, absent: string[]) => {
    const calls = join(root, `calls-${Math.random().toString(16).slice(2)}`);
    writeFileSync(calls, "");
    const r = spawnSync("/bin/dash", ["-c", script], {
      encoding: "utf8",
      env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_ABSENT: absent.join(" "), FAKE_CALLS: calls },
    });
    return { ...r, calls: spawnSync("wc", ["-l", calls], { encoding: "utf8" }).stdout.trim().split(" ")[0] };
  };

  const rows: { absent: string[]; parsed: string[]; calls: string }[] = [
    { absent: [], parsed: [], calls: "1" },
    { absent: ["docker.io/library/redis:7.2-alpine"], parsed: ["docker.io/library/redis:7.2-alpine"], calls: "4" },
    {
      absent: ["docker.io/library/redis:7.2-alpine", "ghcr.io/wopr-mesh/barter-cache:1.0.0"],
      parsed: ["docker.io/library/redis:7.2-alpine", "ghcr.io/wopr-mesh/barter-cache:1.0.0"],
      calls: "4",
    },
  ];
  it.each(rows)("probe with $absent absent: one call when all are there", ({ absent, parsed, calls }) => {
    const fact = imagesFact(IMAGES);
    const r = dash(fact.command.render(), absent);
    expect(fact.parse({ stdout: r.stdout, code: r.status ?? 1 }).absent.sort()).toEqual(parsed.sort());
    expect(r.calls).toBe(calls);
  });

  it("the step fails naming each missing image's service, and passes when all are there", () => {
    const step = imagesPresentCheck("hub", IMAGES).render();
    const missing = dash(`${step} && echo UP`, ["docker.io/library/redis:7.2-alpine"]);
    expect(missing.status).toBe(1);
    expect(missing.stdout).not.toContain("UP");
    expect(missing.stderr).toContain(
      "hub: the image of service redis (docker.io/library/redis:7.2-alpine) is not on the hub, so the stack was not started or changed (nothing running was stopped)",
    );
    expect(missing.stderr).toMatch(/To fix: load it on hub/);
    expect(missing.stderr).not.toContain("postgres");
    const all = dash(`${step} && echo UP`, []);
    expect(all.status, all.stderr).toBe(0);
    expect(all.stdout.trim()).toBe("UP");
    expect(imagesPresentCheck("hub", IMAGES).describe()).toBe("check that the 3 images of the stack are on hub");
  });
});
