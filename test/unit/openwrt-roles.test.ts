// The roles on a real OpenWrt router, table-driven: fw4's include files per node (and that fw4's captured rulesets
// load with them), every init script's kind and procd respawn, the sysupgrade keep list, the restore service run
// against stub tools, dropbear's key file and the log hint, the exporter's UCI options.
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { HostContext } from "../../lib/play.ts";
import type { Resource } from "../../lib/resources/resource.ts";
import { renderTemplate } from "../../lib/template.ts";
import { routingDefaults } from "../../roles/routing/defaults.ts";
import { fw4Includes, meshAdmission } from "../../roles/routing/fw4.ts";
import { communitySources, hubOf } from "../../roles/routing/settings.ts";
import { tunnelPair } from "../../roles/routing/tunnel.ts";
import type { CertAuthority } from "../../roles/nebula/identity.ts";
import { sysupgradeDefaults } from "../../roles/sysupgrade/defaults.ts";
import { restoreScript } from "../../roles/sysupgrade/index.ts";
import type { PlayFootprint } from "../../roles/sysupgrade/keep.ts";
import { authorizedKeysOf, nebulaLogHint } from "../../tasks/enroll/enroll.ts";
import { uplinkPlay } from "../../tasks/plays.ts";
import { hostContext, inventoryFrom } from "../context.ts";
import { emptyProbes, planOne } from "../helpers/plan.ts";

const INVENTORY = `
groups:
  hub:
    hosts:
      hub: { address: 198.18.9.10, os: debian, mesh_ip: 10.0.4.1, vars: { lan_subnet: 10.42.0.0/24 } }
  uplinks:
    vars:
      bandwidth: { up_mbit: 5, down_mbit: 20 }
    hosts:
      uplink-1: { address: 198.18.9.31, os: openwrt, mesh_ip: 10.0.4.65 }
      uplink-2: { address: 198.18.9.32, os: openwrt, mesh_ip: 10.0.4.66, vars: { nebula_stats_port: 9201, monitoring_node_exporter_port: 9200 } }
  clients:
    hosts:
      laptop-1: { address: 198.18.9.40, os: debian, mesh_ip: 10.0.4.130 }
`;
const inventory = inventoryFrom(INVENTORY);
const ctxOf = (name: string, defaults: Record<string, unknown> = {}): HostContext =>
  hostContext(inventory, name, { defaults, init: "initd" });
const ca = {
  caCertPem: "-----BEGIN NEBULA CERTIFICATE-----\n-----END NEBULA CERTIFICATE-----\n",
} as unknown as CertAuthority;

/** Every resource of the uplink play on a host, each role with its own defaults (as the runner builds them). */
const playResources = (name: string): Resource[] =>
  uplinkPlay(ca, [name]).roles.flatMap((r) => {
    const ctx = ctxOf(name, r.defaults);
    return r.tasks(ctx);
  });
/** What a file resource would write on a host that has nothing yet. */
const contentOf = (resources: Resource[], path: string): string => {
  const r = resources.find((x) => x.name === `Write ${path}`);
  if (!r) throw new Error(`no resource writes ${path}`);
  return planOne(r, emptyProbes)!.diff!.after;
};
const rules = (text: string) => text.split("\n").filter((l) => l && !l.startsWith("#"));

const admissionOf = (name: string) => {
  const ctx = ctxOf(name, routingDefaults);
  const hub = hubOf(ctx);
  const t = tunnelPair(hub.meshIp!, ctx.host.meshIp!, routingDefaults).uplink;
  return meshAdmission(
    ctx,
    hub.meshIp!,
    t,
    communitySources(hub, { ...routingDefaults, lan_subnet: hub.vars.lan_subnet }),
  );
};

describe("fw4 include files: the mesh's own traffic, from the hub only", () => {
  const cases = [
    {
      node: "uplink-1",
      input: [
        `iifname "nebula1" ip saddr 10.0.4.1 udp dport 4789 accept comment "meshisp: the hub's VXLAN tunnel (mu-hub)"`,
        `iifname "nebula1" ip saddr 10.0.4.1 tcp dport { 22, 9101, 9100 } accept comment "meshisp: SSH, Nebula stats and node exporter, from the hub"`,
        `iifname "nebula1" ip saddr 10.0.4.1 icmp type echo-request accept comment "meshisp: the hub's ping"`,
        `tcp dport 9100 reject with tcp reset comment "meshisp: node exporter for the hub only"`,
      ],
      forward: [
        `iifname "mu-hub" ip saddr { 10.42.0.0/24, 10.0.4.128/25, 10.0.253.130/32 } accept comment "meshisp: the community's traffic from the hub"`,
      ],
    },
    {
      node: "uplink-2",
      input: [
        `iifname "nebula1" ip saddr 10.0.4.1 udp dport 4789 accept comment "meshisp: the hub's VXLAN tunnel (mu-hub)"`,
        `iifname "nebula1" ip saddr 10.0.4.1 tcp dport { 22, 9201, 9200 } accept comment "meshisp: SSH, Nebula stats and node exporter, from the hub"`,
        `iifname "nebula1" ip saddr 10.0.4.1 icmp type echo-request accept comment "meshisp: the hub's ping"`,
        `tcp dport 9200 reject with tcp reset comment "meshisp: node exporter for the hub only"`,
      ],
      forward: [
        `iifname "mu-hub" ip saddr { 10.42.0.0/24, 10.0.4.128/25, 10.0.253.132/32 } accept comment "meshisp: the community's traffic from the hub"`,
      ],
    },
  ];
  it.each(cases)("$node: input and forward rules", ({ node, input, forward }) => {
    const [inc, fwd] = fw4Includes(admissionOf(node));
    expect(inc.path).toBe("chain-pre/input/30-meshisp.nft");
    expect(fwd.path).toBe("chain-pre/forward/30-meshisp.nft");
    expect(rules(inc.content)).toEqual(input);
    expect(rules(fwd.content)).toEqual(forward);
  });

  it.each(["uplink-1", "uplink-2"])(
    "%s: the routing role writes both where fw4 reads them (reloading fw4) and their kept copies",
    (node) => {
      const resources = playResources(node);
      for (const inc of fw4Includes(admissionOf(node))) {
        expect(contentOf(resources, `/usr/share/nftables.d/${inc.path}`)).toBe(inc.content);
        expect(contentOf(resources, `/etc/meshisp/fw4/${inc.path}`)).toBe(inc.content);
        expect(resources.find((r) => r.name === `Write /usr/share/nftables.d/${inc.path}`)!.notify).toEqual([
          "reload fw4",
        ]);
      }
      // chain-post/input comes after the final jump handle_reject: anything there would never be reached.
      expect(resources.some((r) => r.name.includes("chain-post/input"))).toBe(false);
    },
  );

  // fw4's captured rulesets (shared/openwrt, both releases) with our files in place of its include lines, checked by nft.
  const splice = (release: string, input: string, forward: string) =>
    readFileSync(join(__dirname, "fixtures/openwrt", `fw4-ruleset-with-includes-${release}.nft`), "utf8")
      .replace(/^\s*include "\/usr\/share\/nftables\.d\/chain-pre\/input\/[^"]*"$/m, input)
      .replace(/^\s*include "\/usr\/share\/nftables\.d\/chain-pre\/forward\/[^"]*"$/m, forward)
      .replace(/^\s*include ".*"$/gm, "");
  const nftCheck = (ruleset: string) => spawnSync("nft", ["-c", "-f", "-"], { input: ruleset, encoding: "utf8" });
  it.each(["23.05", "24.10"])(
    "fw4 %s's ruleset loads with them, ours right after `iif lo accept` and before the ct state rule",
    (release) => {
      const [inc, fwd] = fw4Includes(admissionOf("uplink-1"));
      const ruleset = splice(release, inc.content, fwd.content);
      const input = ruleset.slice(ruleset.indexOf("chain input {"));
      // 24.10 prints `iif "lo" accept` and `ct state vmap {...}`, 23.05 `iifname "lo" accept` and `ct state established,related accept`.
      expect(input.search(/iif(name)? "lo" accept/)).toBeGreaterThan(0);
      expect(input.search(/iif(name)? "lo" accept/)).toBeLessThan(input.indexOf("meshisp: the hub's VXLAN"));
      expect(input.indexOf("meshisp: node exporter for the hub only")).toBeLessThan(input.search(/^\s*ct state/m));
      const r = nftCheck(ruleset);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      // The check can fail: a broken rule in the include is refused.
      expect(nftCheck(splice(release, "iifname nebula1 ip saddr accept", fwd.content)).status).not.toBe(0);
    },
  );
});

describe("init scripts as real rc.common runs them", () => {
  // kind a: USE_PROCD=1 with start_service; kind b: old-style start() (both run at boot); kind c (start_service
  // without USE_PROCD) never runs at all (shared/openwrt/rc-common-behaviour.tsv).
  const kindOf = (script: string) =>
    /^USE_PROCD=1$/m.test(script) && /^start_service\(\)/m.test(script)
      ? "procd"
      : !/^USE_PROCD=/m.test(script) && /^start\(\)/m.test(script)
        ? "old-style start()"
        : "never runs";
  const respawnOf = (script: string) => /^\s*procd_set_param respawn(.*)$/m.exec(script)?.[1].trim() ?? null;
  const resources = playResources("uplink-1");
  const cases = [
    { script: "/etc/init.d/nebula-mesh", kind: "procd", respawn: "3600 5 0" },
    { script: "/etc/init.d/meshisp-shaping", kind: "procd", respawn: "3600 5 0" },
    { script: "/etc/init.d/meshisp-routing", kind: "old-style start()", respawn: null },
    // Its own loop retries opkg with a deadline; a respawn would run it again after it gave up.
    { script: "/etc/init.d/meshisp-restore", kind: "procd", respawn: null },
  ];
  it.each(cases)("$script: $kind, respawn $respawn", ({ script, kind, respawn }) => {
    const text = contentOf(resources, script);
    expect(text.startsWith("#!/bin/sh /etc/rc.common\n")).toBe(true);
    expect(kindOf(text)).toBe(kind);
    expect(respawnOf(text)).toBe(respawn);
  });
  const hubScripts = [
    { template: "routing/failover.init.hbs", vars: { dir: "/etc/meshisp" } },
    {
      template: "routing/metrics.init.hbs",
      vars: { metrics_dir: "/run/m", busybox: "/bin/busybox", listen: "10.0.4.1:9102" },
    },
    { template: "dns/mesh-dns.init.hbs", vars: { dns_bin: "/usr/sbin/dnsmasq", dns_dir: "/etc/meshisp/dns" } },
    { template: "monitoring/service.init.hbs", vars: { description: "x", command: "/usr/bin/x" } },
  ];
  it.each(hubScripts)("$template: procd, never gives up", ({ template, vars }) => {
    const text = renderTemplate(template, vars);
    expect(kindOf(text)).toBe("procd");
    expect(respawnOf(text)).toBe("3600 5 0");
  });
});

describe("sysupgrade: what is kept, and what the restore service puts back", () => {
  const resources = playResources("uplink-1");
  it("keeps itself, the state and identity directories, our init scripts and the restore service's boot link", () => {
    const keep = contentOf(resources, "/lib/upgrade/keep.d/meshisp");
    expect(rules(keep)).toEqual([
      "/lib/upgrade/keep.d/meshisp",
      "/etc/meshisp/",
      "/etc/nebula/",
      "/etc/hostname",
      "/etc/banner",
      "/etc/init.d/nebula-mesh",
      "/etc/init.d/meshisp-shaping",
      "/etc/init.d/meshisp-routing",
      "/etc/init.d/meshisp-restore",
      "/etc/rc.d/S99meshisp-restore",
    ]);
    // Every path says why it is there; nothing OpenWrt keeps by itself (/etc/config, /etc/dropbear) is repeated.
    expect(keep.split("\n").filter((l) => l.startsWith("# ")).length).toBeGreaterThanOrEqual(rules(keep).length);
    expect(keep).not.toMatch(/^\/etc\/(config|dropbear)\//m);
    // The fw4 includes are restored from their copies under /etc/meshisp (kept), not kept where fw4 reads them (lost).
    expect(keep).not.toMatch(/^\/usr\/share\/nftables\.d/m);
  });
  it("the restore script reinstalls every package the play installs and starts Nebula first", () => {
    const script = contentOf(resources, "/etc/meshisp/restore.sh");
    const packages = /^PACKAGES='(.*)'$/m.exec(script)![1].split(" ");
    for (const p of ["nebula", "kmod-vxlan", "ip-full", "prometheus-node-exporter-lua"]) expect(packages).toContain(p);
    const installs = resources.flatMap((r) => /^Install (.+)$/.exec(r.name)?.[1].split(", ") ?? []);
    expect(new Set(packages)).toEqual(new Set(installs));
    expect(/^SERVICES='(.*)'$/m.exec(script)![1]).toBe("nebula-mesh meshisp-shaping prometheus-node-exporter-lua");
    expect(script).toContain('"$INITD/meshisp-routing" start');
    expect(resources.some((r) => r.name === "Enable meshisp-restore at boot")).toBe(true);
  });
  it("writes nothing on a Debian host", () => {
    const role = uplinkPlay(ca, ["laptop-1"]).roles.at(-1)!;
    expect(role.tasks(ctxOf("laptop-1", role.defaults))).toEqual([]);
  });

  // The restore script itself, under ash-compatible sh, with stub opkg/logger/fw4/nft and init scripts in a scratch tree.
  function scratch(opts: { installed: boolean; wanFailures: number; deadline: number }) {
    const dir = mkdtempSync(join(tmpdir(), "meshisp-restore-"));
    const bin = join(dir, "bin");
    const initd = join(dir, "init.d");
    for (const d of [bin, initd, join(dir, "pkgs"), join(dir, "copy/chain-pre/input"), join(dir, "root")])
      mkdirSync(d, { recursive: true });
    writeFileSync(join(dir, "copy/chain-pre/input/30-meshisp.nft"), "iifname x accept\n");
    if (opts.installed) {
      for (const p of ["nebula", "ip-full"]) writeFileSync(join(dir, "pkgs", p), "");
      mkdirSync(join(dir, "root/chain-pre/input"), { recursive: true });
      writeFileSync(join(dir, "root/chain-pre/input/30-meshisp.nft"), "iifname x accept\n");
    }
    const stub = (name: string, body: string) => {
      writeFileSync(join(bin, name), `#!/bin/sh\nD=${dir}\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    };
    stub(
      "opkg",
      `echo "opkg $*" >> $D/calls
case "$1" in
  list-installed) for p in $D/pkgs/*; do [ -f "$p" ] && echo "$(basename $p) - 1"; done ;;
  update) n=$(cat $D/updates 2>/dev/null || echo 0); echo $((n + 1)) > $D/updates; [ "$n" -ge ${opts.wanFailures} ] ;;
  install) shift; for p in "$@"; do : > $D/pkgs/$p; done ;;
esac`,
    );
    stub("logger", `echo "$*" >> $D/syslog`);
    stub("fw4", `echo "fw4 $*" >> $D/calls`);
    stub("nft", `echo "nft $*" >> $D/calls`);
    for (const s of ["nebula-mesh", "meshisp-shaping", "meshisp-routing"]) {
      writeFileSync(join(initd, s), `#!/bin/sh\necho "${s} $1" >> ${dir}/calls\n`);
      chmodSync(join(initd, s), 0o755);
    }
    const play: PlayFootprint = {
      packages: ["nebula", "ip-full"],
      services: ["nebula-mesh", "meshisp-shaping"],
      bootServices: ["meshisp-routing"],
      files: [],
    };
    const script = restoreScript(
      play,
      {
        ...sysupgradeDefaults,
        sysupgrade_restore_deadline_seconds: opts.deadline,
        sysupgrade_restore_retry_seconds: 1,
      },
      { fw4Copy: join(dir, "copy"), fw4Root: join(dir, "root"), initd },
    );
    writeFileSync(join(dir, "restore.sh"), script);
    const r = spawnSync("sh", [join(dir, "restore.sh")], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      encoding: "utf8",
      timeout: 30_000,
    });
    const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), "utf8") : "");
    return {
      code: r.status,
      calls: read("calls").split("\n").filter(Boolean),
      syslog: read("syslog"),
      restored: existsSync(join(dir, "root/chain-pre/input/30-meshisp.nft")),
    };
  }
  it("an ordinary boot: everything installed, includes in place: nothing done, nothing logged", () => {
    const r = scratch({ installed: true, wanFailures: 0, deadline: 10 });
    expect(r.code).toBe(0);
    expect(r.calls).toEqual(["opkg list-installed"]);
    expect(r.syslog).toBe("");
  });
  it("after an upgrade, the WAN answering on the third try: packages, includes, fw4 reload, services in order, routing", () => {
    const r = scratch({ installed: false, wanFailures: 2, deadline: 30 });
    expect(r.code).toBe(0);
    expect(r.restored).toBe(true);
    const after = r.calls.filter((c) => !c.startsWith("opkg list-installed"));
    expect(after).toEqual([
      "opkg update",
      "opkg update",
      "opkg update",
      "opkg install nebula ip-full",
      "fw4 reload",
      "nebula-mesh enable",
      "nebula-mesh restart",
      "meshisp-shaping enable",
      "meshisp-shaping restart",
      "nft delete table ip meshisp",
      "meshisp-routing enable",
      "meshisp-routing start",
    ]);
    expect(r.syslog).toMatch(/packages missing .*nebula ip-full/);
    expect(r.syslog).toMatch(/again in 1 s/);
    expect(r.syslog).toMatch(/done: the node should be back on the mesh/);
  });
  it("no WAN until the deadline: gives up, says so in syslog, starts nothing (the next boot tries again)", () => {
    const r = scratch({ installed: false, wanFailures: 1000, deadline: 2 });
    expect(r.code).toBe(1);
    expect(r.syslog).toMatch(/gave up after 2 s: still missing nebula ip-full/);
    expect(r.calls.some((c) => c.includes("restart") || c.startsWith("fw4"))).toBe(false);
  });
});

describe("dropbear, logs and the exporter as OpenWrt has them", () => {
  it.each([
    { os: "openwrt", dir: "/etc/dropbear", file: "/etc/dropbear/authorized_keys", hint: "logread -e nebula" },
    { os: "debian", dir: "/root/.ssh", file: "/root/.ssh/authorized_keys", hint: "journalctl -u nebula-mesh" },
  ])("$os: root's keys in $file, logs: $hint", ({ os, dir, file, hint }) => {
    expect(authorizedKeysOf(os)).toEqual({ dir, file });
    expect(nebulaLogHint(os, "nebula-mesh")).toBe(hint);
    expect(hint).not.toContain("/var/log");
  });
  it("the exporter's UCI file sets only the options its init script reads (23.05: listen_interface, listen_port)", () => {
    const resources = playResources("uplink-1");
    const uci = contentOf(resources, "/etc/config/prometheus-node-exporter-lua");
    expect(rules(uci)).toEqual([
      "config prometheus-node-exporter-lua 'main'",
      "\toption listen_interface '*'",
      "\toption listen_port '9100'",
    ]);
  });
});

// The include checks need nft: say so if it is missing rather than fail obscurely.
it("nft is installed here (the include checks need it)", () => {
  expect(execFileSync("nft", ["--version"], { encoding: "utf8" })).toMatch(/nftables/);
});
