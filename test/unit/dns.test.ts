// The hub's DNS cache from the inventory: what it answers, where it listens, and who runs it (native or the stack).
import { describe, expect, it } from "vitest";
import { hostContext, inventoryFrom } from "../context.ts";
import type { HostContext } from "../../lib/play.ts";
import { dnsRole } from "../../roles/dns/index.ts";
import { dnsDefaults } from "../../roles/dns/defaults.ts";
import { firstAddress, renderDnsFiles } from "../../roles/dns/records.ts";

const INVENTORY = `
groups:
  hub:
    hosts:
      hub: { address: 10.10.0.2, os: debian, mesh_ip: 10.0.4.1, vars: { lan_subnet: 10.42.0.0/24, dns_forwarders: [9.9.9.9] } }
  relays:
    hosts:
      relay-1: { address: 203.0.113.20, os: debian }
  uplinks:
    hosts:
      uplink-1: { address: 192.168.8.1, os: openwrt, mesh_ip: 10.0.4.65 }
      uplink-2: { address: 192.168.8.2, os: openwrt }
  bench:
    hosts:
      printer: { address: 10.42.0.20 }
`;

const ctx = (extra: Record<string, unknown> = {}, init: "systemd" | "initd" = "systemd"): HostContext =>
  hostContext(inventoryFrom(INVENTORY), "hub", { defaults: dnsDefaults, extra: [extra], init });

describe("the DNS cache's files", () => {
  it("answers the hub's services on both sides, every mesh node by its mesh IP, and nothing for hosts outside the mesh", () => {
    const { hosts } = renderDnsFiles(ctx());
    const lines = hosts.split("\n").filter((l) => l && !l.startsWith("#"));
    expect(lines).toContain("10.0.4.1 barter.mesh");
    expect(lines).toContain("10.42.0.1 barter.mesh");
    expect(lines).toContain("10.0.4.65 uplink-1.mesh");
    expect(lines).toContain("10.0.4.66 uplink-2.mesh"); // allocated: enrollment writes it out the same way
    expect(lines).toContain("10.0.4.33 relay-1.mesh");
    expect(lines).toContain("10.0.4.1 hub.mesh");
    expect(lines.some((l) => l.includes("printer"))).toBe(false);
  });

  it("listens on the mesh IP, the LAN address and loopback only, forwards to the given resolvers, answers locally for .mesh", () => {
    const { conf } = renderDnsFiles(ctx());
    expect(conf.match(/^listen-address=.*$/gm)).toEqual([
      "listen-address=10.0.4.1",
      "listen-address=10.42.0.1",
      "listen-address=127.0.0.1",
    ]);
    expect(conf).toMatch(/^bind-dynamic$/m);
    expect(conf).toMatch(/^no-resolv$/m);
    expect(conf).toMatch(/^local=\/mesh\/$/m);
    expect(conf).toMatch(/^localise-queries$/m);
    expect(conf.match(/^server=.*$/gm)).toEqual(["server=9.9.9.9"]);
  });

  it("computes the hub's LAN address from lan_subnet unless given", () => {
    expect(firstAddress("10.42.0.0/24")).toBe("10.42.0.1");
    expect(firstAddress("10.42.8.0/21")).toBe("10.42.8.1");
    expect(renderDnsFiles(ctx({ dns_lan_address: "10.42.0.254" })).conf).toContain("listen-address=10.42.0.254");
  });
});

describe("who runs dnsmasq", () => {
  it("natively without Docker: package, config, a systemd unit or a procd-style script, the service running", () => {
    const names = dnsRole.tasks(ctx()).map((r) => r.name);
    expect(names).toEqual([
      "Install dnsmasq-base",
      "Install bind9-dnsutils",
      "Create directory /etc/meshisp/dns",
      "Write /etc/meshisp/dns/dnsmasq.conf",
      "Write /etc/meshisp/dns/mesh.hosts",
      "Write /etc/systemd/system/mesh-dns.service",
      "Run service mesh-dns at boot",
    ]);
    expect(dnsRole.tasks(ctx({}, "initd")).map((r) => r.name)).toContain("Write /etc/init.d/mesh-dns");
  });

  it("the compose stack with docker_enabled: the same files, the native service stopped, new names reloaded in the container", () => {
    const tasks = dnsRole.tasks(ctx({ docker_enabled: true }));
    expect(tasks.map((r) => r.name)).toEqual([
      "Install bind9-dnsutils",
      "Create directory /etc/meshisp/dns",
      "Write /etc/meshisp/dns/dnsmasq.conf",
      "Write /etc/meshisp/dns/mesh.hosts",
      "Stop service mesh-dns",
    ]);
    expect(tasks[3].notify).toEqual(["reload the stack's dns"]);
    const reload = dnsRole.handlers!(ctx({ docker_enabled: true })).find((h) => h.name === "reload the stack's dns")!;
    expect(reload.command.display()).toBe(
      "docker ps -q --filter label=com.docker.compose.project=meshisp --filter label=com.docker.compose.service=dns | xargs -r docker kill -s HUP",
    );
  });

  it("nothing when dns_enabled is false", () => {
    expect(dnsRole.tasks(ctx({ dns_enabled: false }))).toEqual([]);
  });
});
