// /etc/docker/daemon.json from docker_daemon_config: what is written for a real hub and for the lab, what is refused,
// and that a change (only a change) restarts the engine.
import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import type { FactReader } from "../../lib/facts/fact.ts";
import { UserError } from "../../lib/errors.ts";
import { mergeVars } from "../../lib/inventory/vars.ts";
import {
  DAEMON_JSON,
  daemonConfigResources,
  renderDaemonConfig,
  RESTART_DOCKER,
  restartDocker,
} from "../../roles/docker/daemon-config.ts";
import { dockerDefaults } from "../../roles/docker/defaults.ts";

// The lab's value, as the lab inventory sets it (merged over the default, key by key).
const LAB = { bridge: "none", iptables: false, "ip-forward": false, "ip-masq": false };
const merged = (over: Record<string, unknown>) =>
  (mergeVars(dockerDefaults, { docker_daemon_config: over }) as typeof dockerDefaults).docker_daemon_config;

describe("daemon.json's text", () => {
  const rows: { name: string; config: unknown; init?: "systemd" | "initd"; expect: Record<string, unknown> }[] = [
    {
      name: "the default: log rotation, live-restore, forwarding left to the routing role",
      config: dockerDefaults.docker_daemon_config,
      expect: {
        "ip-forward": false,
        "live-restore": true,
        "log-driver": "json-file",
        "log-opts": { "max-file": "3", "max-size": "10m" },
      },
    },
    {
      name: "the lab's keys merge over the default's",
      config: merged(LAB),
      init: "initd",
      expect: {
        bridge: "none",
        iptables: false,
        "ip-forward": false,
        "ip-masq": false,
        "live-restore": true,
        "log-driver": "json-file",
        "log-opts": { "max-file": "3", "max-size": "10m" },
      },
    },
    {
      name: "a key set to null is left out; a nested key overrides only itself",
      config: merged({ "live-restore": null, "log-opts": { "max-size": "50m" } }),
      expect: { "ip-forward": false, "log-driver": "json-file", "log-opts": { "max-file": "3", "max-size": "50m" } },
    },
    {
      name: "hosts is the init script's business outside systemd: written as given",
      config: { hosts: ["unix:///run/docker.sock"] },
      init: "initd",
      expect: { hosts: ["unix:///run/docker.sock"] },
    },
  ];
  it.each(rows)("$name", ({ config, init, expect: wanted }) => {
    const text = renderDaemonConfig("hub", config, init ?? "systemd");
    expect(JSON.parse(text)).toEqual(wanted);
    expect(text.endsWith("}\n")).toBe(true);
    // Sorted keys: the same settings in another order are the same bytes (no change, no restart).
    const reversed = Object.fromEntries(Object.entries(config as object).reverse());
    expect(renderDaemonConfig("hub", reversed, init ?? "systemd")).toBe(text);
  });

  const refused: { name: string; config: unknown; message: RegExp; hint: RegExp }[] = [
    {
      name: "hosts under systemd (Debian's unit passes -H fd://)",
      config: merged({ hosts: ["tcp://0.0.0.0:2375"] }),
      message: /^hub: docker_daemon_config sets hosts, which Debian's docker\.service already passes .*refuse to start/,
      hint: /remove hosts from docker_daemon_config \(or set it to null\)/,
    },
    {
      name: "hosts and containerd under systemd",
      config: { hosts: [], containerd: "/run/containerd/containerd.sock" },
      message: /sets hosts and containerd/,
      hint: /set them to null/,
    },
    {
      name: "not a mapping",
      config: "bridge=none",
      message: /^hub: docker_daemon_config is "bridge=none", not a mapping/,
      hint: /write it as a mapping/,
    },
    { name: "a list", config: ["bridge"], message: /not a mapping/, hint: /mapping/ },
  ];
  it.each(refused)("refused: $name", ({ config, message, hint }) => {
    let error: unknown;
    try {
      renderDaemonConfig("hub", config, "systemd");
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toMatch(message);
    expect((error as UserError).hint).toMatch(hint);
  });
});

describe("the engine restarts when daemon.json changes, and only then", () => {
  const sha = (s: string) => createHash("sha256").update(s).digest("hex");
  const text = renderDaemonConfig("hub", merged(LAB), "initd");
  const onHost = (content: string | null): FactReader =>
    (<T>(fact: { key: string; parse: (o: { stdout: string; code: number }) => T }) => {
      const path = fact.key.slice(fact.key.indexOf(":") + 1);
      if (path === "/etc/docker") return fact.parse({ stdout: "directory\ndrwxr-xr-x 4096\nroot\nroot\n", code: 0 });
      if (content === null) return fact.parse({ stdout: "absent\n", code: 0 });
      return fact.parse({ stdout: `file\n-rw-r--r-- ${content.length}\nroot\nroot\n${sha(content)}  -\n`, code: 0 });
    }) as FactReader;
  const rows: { name: string; onHost: string | null; changes: boolean }[] = [
    { name: "absent (first deploy)", onHost: null, changes: true },
    {
      name: "another value (the default's, before the lab's)",
      onHost: renderDaemonConfig("hub", dockerDefaults.docker_daemon_config, "initd"),
      changes: true,
    },
    { name: "the same", onHost: text, changes: false },
  ];
  it.each(rows)("$name", ({ onHost: now, changes }) => {
    const resources = daemonConfigResources("hub", merged(LAB), "initd");
    const json = resources.find((r) => r.name === `Write ${DAEMON_JSON}`)!;
    expect(json.notify).toEqual([RESTART_DOCKER]);
    const plan = json.plan(onHost(now));
    expect(!!plan?.commands.length).toBe(changes);
    if (plan) expect(plan.diff?.after).toBe(text);
  });

  it("the handler restarts the engine by the hub's init", () => {
    expect(restartDocker("systemd").command.display()).toBe("systemctl daemon-reload && systemctl restart docker");
    expect(restartDocker("initd").command.display()).toBe("/etc/init.d/docker restart");
    expect(restartDocker("initd").name).toBe(RESTART_DOCKER);
  });
});
