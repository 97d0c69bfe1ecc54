// The lab's "openwrt" image against the captured facts of OpenWrt 23.05 / 24.10 (shared/openwrt/): applets on PATH,
// options as built, ip/tc through opkg, opkg's messages, dropbear's key path and blank password, sysupgrade's keep
// list, and what a reboot and a sysupgrade keep and forget. One small lab on the pilot's network: one router per release
// at a home (br-lan 192.168.8.1), and the hub the topology needs in the kitchen (unused here). Checks run inside the
// router (nsenter); SSH goes where a person's would, from the installer's laptop plugged into the router's LAN.
import { execFile } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labUp, type Lab, type LabHost } from "../../scripts/lab/index.ts";
import { NON_BUSYBOX_TOOLS, presentApplets, releaseApplets, appletSource } from "../../scripts/lab/openwrt/applets.ts";
import type { OpenwrtRelease } from "../../scripts/lab/openwrt/release.ts";

const RELEASES: OpenwrtRelease[] = ["23.05", "24.10"];
const PASSWORD = "lab-test-pw";
let lab: Lab<"pilot">;
type Host = LabHost<"pilot">;
const host = (r: OpenwrtRelease): Host => lab.host(`owrt-${r.replace(".", "")}`);

beforeAll(async () => {
  // 23.05 keeps the fresh image's empty root password; 24.10 gets one, so only keys (or that password) log in.
  lab = await labUp({
    topology: "pilot",
    hosts: [
      { name: "hub", kind: "debian", group: "hub" },
      { name: "owrt-2305", kind: "openwrt", group: "uplinks", release: "23.05" },
      { name: "owrt-2410", kind: "openwrt", group: "uplinks", release: "24.10", password: PASSWORD },
    ],
  });
}, 120_000);
afterAll(async () => lab?.down(), 60_000);

const run = async (h: Host, cmd: string) => {
  const r = await h.exec(cmd);
  return { ...r, out: r.stdout.trim() };
};

/**
 * `ssh root@192.168.8.1 true` from the installer's laptop, plugged into this router's LAN (it stays plugged, also across
 * a reboot, as a cable would); resolves with ssh's exit code.
 */
async function ssh(h: Host, args: string[]): Promise<number> {
  if (lab.installer.pluggedInto !== h.name) await lab.installer.plugInto(h.name);
  return new Promise((resolve) => {
    const argv = [
      "netns",
      "exec",
      lab.installer.netns,
      "ssh",
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "BatchMode=yes",
      "-o",
      "ConnectTimeout=5",
      "-o",
      "LogLevel=ERROR",
      ...args,
      `root@${h.routerLanAddress}`,
      "true",
    ];
    const child = execFile("ip", argv, { timeout: 20_000 }, (err) =>
      resolve(err ? ((err as { code?: number }).code ?? 1) : 0),
    );
    child.stdin?.end();
  });
}
const withLabKey = (h: Host) =>
  ssh(h, ["-i", lab.sshKeyPath, "-o", "IdentitiesOnly=yes", "-o", "PreferredAuthentications=publickey"]);
const withNothing = (h: Host) => ssh(h, ["-i", "/dev/null", "-o", "IdentitiesOnly=yes"]);

describe.each(RELEASES)("OpenWrt %s image", (release) => {
  it("says its release", async () => {
    const r = await run(
      host(release),
      ". /etc/openwrt_release; echo $DISTRIB_RELEASE $DISTRIB_REVISION; . /etc/os-release; echo $VERSION_ID",
    );
    expect(r.out).toBe(
      release === "23.05" ? "23.05.5 r24106-10cc5fcd00\n23.05.5" : "24.10.4 r28959-29397011cc\n24.10.4",
    );
  });

  it("has every applet of the release at its path, and nothing else on PATH", async () => {
    const r = await run(
      host(release),
      'for d in /usr/sbin /usr/bin /sbin /bin; do for f in $d/*; do [ -x "$f" ] && [ ! -d "$f" ] && echo "$f"; done; done',
    );
    const onPath = new Set(r.out.split("\n"));
    const applets = presentApplets(release).map((a) => a.path);
    expect(applets.filter((p) => !onPath.has(p))).toEqual([]);
    const allowed = new Set([...applets, ...Object.keys(NON_BUSYBOX_TOOLS)]);
    expect([...onPath].filter((p) => !allowed.has(p)).sort()).toEqual([]);
    // Absent by decision (no Debian stand-in): not there either.
    const absent = releaseApplets(release)
      .filter((a) => appletSource(a.applet).kind === "absent")
      .map((a) => a.path);
    expect(absent.filter((p) => onPath.has(p))).toEqual([]);
  });

  it.each([
    ["stat -c %s /etc/passwd", 127, /not found/],
    ["timeout 1 true", 127, /not found/],
    ["base64 /etc/passwd", 127, /not found/],
    ["tc qdisc show", 127, /not found/],
    ["iperf3 -v", 127, /not found/],
    ["nebula -version", 127, /not found/],
    ["sleep 0.5", 1, /invalid number '0.5'/],
    ["ps -ef", 1, /Usage: ps/],
    ["ps -o pid", 1, /Usage: ps/],
    ["nc -l -p 9999", 1, /Usage: nc \[IPADDR PORT\]/],
    ["nc -z 127.0.0.1 22", 1, /Usage: nc/],
    ["ip -j link", 1, /Usage: ip/],
    ["ip tunnel show", 1, /Usage: ip/],
  ])("refuses `%s` as OpenWrt's default build does (exit %i)", async (cmd, code, stderr) => {
    const r = await run(host(release), cmd);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(stderr);
  });

  it.each([
    ["sleep 1", /^$/],
    ["ps w", /^\s*PID USER\s+VSZ STAT COMMAND/],
    ["ps", /^\s*PID USER\s+VSZ STAT COMMAND/],
    ["ip -o link show lo", /lo:/],
    ["nft list tables", /./],
  ])("accepts `%s`", async (cmd, stdout) => {
    const r = await run(host(release), cmd);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(stdout);
  });
});

describe.each(RELEASES)("opkg on %s", (release) => {
  it("knows no package before `opkg update`, as a router after boot", async () => {
    const r = await run(host(release), "opkg install iperf3");
    expect([r.code, r.out, r.stderr.trim()]).toEqual([
      255,
      "Unknown package 'iperf3'.",
      "Collected errors:\n * opkg_install_cmd: Cannot install package iperf3.",
    ]);
  });

  it("refuses an unknown package with exit 255 and collected errors", async () => {
    const r = await run(host(release), "opkg update >/dev/null && opkg install no-such-pkg");
    expect([r.code, r.out, r.stderr.trim()]).toEqual([
      255,
      "Unknown package 'no-such-pkg'.",
      "Collected errors:\n * opkg_install_cmd: Cannot install package no-such-pkg.",
    ]);
  });

  it("lists installed packages as `name - version` and says an installed one is up to date", async () => {
    const r = await run(host(release), "opkg list-installed; opkg install nftables");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^base-files - \S+$/m);
    expect(r.out).toMatch(/^nftables-json - \S+$/m);
    expect(r.out).toMatch(/^Package nftables-json \(\S+\) installed in root is up to date\.$/m);
  });

  it("has BusyBox ip until ip-full, then iproute2's ip -j (alternatives); no tc until tc-full", async () => {
    const h = host(release);
    expect((await run(h, "ip -j link >/dev/null 2>&1; echo $?; command -v tc || echo none")).out).toBe("1\nnone");
    const r = await run(h, "opkg update >/dev/null && opkg install ip-full tc-full");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Installing ip-full \(\S+\) to root\.\.\.$/m);
    expect(r.out).toMatch(/^Configuring tc-full\.$/m);
    expect((await run(h, "ip -j link show lo")).out).toMatch(/^\[\{"ifindex":1/);
    expect(
      (await run(h, "readlink /sbin/ip; readlink /sbin/tc; tc qdisc show dev lo >/dev/null && echo tc-ok")).out,
    ).toBe("/usr/libexec/ip-full\n/usr/libexec/tc-full\ntc-ok");
    expect((await run(h, "grep -A6 '^Package: ip-full$' /usr/lib/opkg/status")).out).toMatch(
      /Status: install user installed[\s\S]*Alternatives: 300:\/sbin\/ip:\/usr\/libexec\/ip-full/,
    );
    // Removing puts BusyBox's ip back.
    expect(
      (
        await run(
          h,
          "opkg remove ip-full tc-full >/dev/null; ip -j link >/dev/null 2>&1; echo $?; command -v tc || echo none",
        )
      ).out,
    ).toBe("1\nnone");
  });
});

describe("dropbear", () => {
  it("logs root in with no password and no key on a fresh image (23.05 host: blank root password)", async () => {
    expect(await withNothing(host("23.05"))).toBe(0);
  });

  it("needs a key once root has a password (24.10 host)", async () => {
    expect(await withNothing(host("24.10"))).not.toBe(0);
  });

  it("reads root's key from /etc/dropbear/authorized_keys (0600 in 0700), never /root/.ssh", async () => {
    const h = host("24.10");
    expect((await run(h, "ls -ld /etc/dropbear /etc/dropbear/authorized_keys | cut -c1-10")).out).toBe(
      "drwx------\n-rw-------",
    );
    expect(await withLabKey(h)).toBe(0);
    await run(
      h,
      "mkdir -p /root/.ssh && chmod 700 /root/.ssh && mv /etc/dropbear/authorized_keys /root/.ssh/authorized_keys",
    );
    try {
      expect(await withLabKey(h)).not.toBe(0);
    } finally {
      await run(h, "mv /root/.ssh/authorized_keys /etc/dropbear/authorized_keys && rm -rf /root/.ssh");
    }
    expect(await withLabKey(h)).toBe(0);
  });

  it.each([
    ["/etc/dropbear group-writable", "chmod 770 /etc/dropbear", "chmod 700 /etc/dropbear"],
    [
      "authorized_keys writable by others",
      "chmod 606 /etc/dropbear/authorized_keys",
      "chmod 600 /etc/dropbear/authorized_keys",
    ],
  ])("refuses the key when %s", async (_what, loosen, restore) => {
    const h = host("24.10");
    await run(h, loosen);
    try {
      expect(await withLabKey(h)).not.toBe(0);
    } finally {
      await run(h, restore);
    }
    expect(await withLabKey(h)).toBe(0);
  });

  it("has an ed25519 host key in /etc/dropbear", async () => {
    expect((await run(host("24.10"), "ls /etc/dropbear")).out).toMatch(/dropbear_ed25519_host_key/);
  });
});

describe("sysupgrade -l (the keep list, as sysupgrade-keep.md describes)", () => {
  const files: [string, boolean][] = [
    ["/etc/config/meshisp", true],
    ["/etc/dropbear/extra", true],
    ["/etc/nftables.d/10-mesh.nft", true],
    ["/etc/crontabs/root", true],
    ["/etc/profile.d/mesh.sh", true],
    ["/etc/opkg/keys/abc", true],
    ["/usr/share/nftables.d/chain-pre/input/mesh.nft", false],
    ["/root/.ssh/authorized_keys", false],
    ["/root/notes", false],
    ["/etc/init.d/meshisp-custom", false],
    ["/etc/meshisp/state", false],
    ["/etc/sysctl.d/99-mesh.conf", false],
    ["/usr/bin/mesh-tool", false],
    ["/www/index.html", false],
  ];
  let listed: Set<string>;
  beforeAll(async () => {
    const h = host("23.05");
    await run(h, files.map(([f]) => `mkdir -p "$(dirname ${f})" && echo x > ${f}`).join(" && "));
    listed = new Set((await run(h, "sysupgrade -l")).out.split("\n"));
  });

  it.each(files)("%s kept: %s", (file, kept) => {
    expect(listed.has(file)).toBe(kept);
  });

  it.each([
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/hosts",
    "/etc/inittab",
    "/etc/profile",
    "/etc/shells",
    "/etc/shinit",
    "/etc/sysctl.conf",
    "/etc/rc.local",
  ])("keeps the essential %s", (file) => {
    expect(listed.has(file)).toBe(true);
  });

  it("keeps a conffile only once it changed, and what sysupgrade.conf adds", async () => {
    const h = host("23.05");
    expect(listed.has("/etc/services")).toBe(false);
    const after = (
      await run(
        h,
        "echo 'mesh 4242/udp' >> /etc/services && echo /etc/meshisp/ >> /etc/sysupgrade.conf && sysupgrade -l",
      )
    ).out.split("\n");
    expect(after).toEqual(expect.arrayContaining(["/etc/services", "/etc/meshisp/state", "/etc/sysupgrade.conf"]));
  });
});

describe("lifecycle (24.10 host)", () => {
  it("reboot keeps the flash and forgets the kernel's state", async () => {
    const h = host("24.10");
    const before = h.pid;
    const setup = await run(
      h,
      `echo on-flash > /etc/flash-mark && echo in-ram > /tmp/ram-mark && opkg update >/dev/null && opkg install ip-full >/dev/null &&
ip link add vx-test type vxlan id 42 dstport 4789 local ${h.wanAddress} && ip rule add fwmark 7 table 77 && ip route add 10.99.0.0/24 dev br-lan &&
nft add table inet labtest && sysctl -w net.ipv4.ip_no_pmtu_disc=1 >/dev/null && echo net.ipv4.tcp_fin_timeout=41 > /etc/sysctl.d/50-labtest.conf && ip addr add 10.98.0.1/24 dev wan0`,
    );
    expect(setup.code, setup.stderr).toBe(0);
    const { ms } = await h.reboot();
    expect(ms).toBeGreaterThan(0);
    expect(h.pid).not.toBe(before);
    const r = await run(
      h,
      "cat /etc/flash-mark; [ -e /tmp/ram-mark ] && echo ram-kept; ip -o link show 2>/dev/null | grep -c vx-test; ip rule | grep -c 'lookup 77'; ip route | grep -c 10.99.0.0; nft list tables | grep -c labtest; sysctl -n net.ipv4.ip_no_pmtu_disc; sysctl -n net.ipv4.ip_forward; sysctl -n net.ipv4.tcp_fin_timeout; ip -4 -o addr show dev wan0 | grep -c 10.98.0.1; ip -4 -o addr show dev br-lan | grep -c " +
        h.routerLanAddress +
        "/; ip route | grep -c '^default'",
    );
    // Forgotten: what was set by hand. Applied again at boot (/etc/init.d/sysctl): base-files' forwarding, the flash's sysctl.d.
    expect(r.out.split("\n")).toEqual(["on-flash", "0", "0", "0", "0", "0", "1", "41", "0", "1", "1"]);
    expect(await withLabKey(h)).toBe(0);
    console.log(`reboot took ${ms} ms`);
  }, 60_000);

  it("sysupgrade loses packages, /root, /usr/share/nftables.d and custom init scripts; keeps settings", async () => {
    const h = host("24.10");
    const setup = await run(
      h,
      `opkg update >/dev/null && opkg install iperf3 >/dev/null && echo x > /root/notes &&
mkdir -p /usr/share/nftables.d/chain-pre/input /etc/nftables.d && echo 'counter' > /usr/share/nftables.d/chain-pre/input/m.nft &&
printf '#!/bin/sh /etc/rc.common\\nSTART=99\\nstart() { :; }\\n' > /etc/init.d/custom && chmod +x /etc/init.d/custom && /etc/init.d/custom enable &&
printf "config mesh 'm'\\n" > /etc/config/meshisp && echo 'counter' > /etc/nftables.d/20-m.nft && mkdir -p /etc/meshisp && echo s > /etc/meshisp/state &&
grep -qx /etc/meshisp/ /etc/sysupgrade.conf || echo /etc/meshisp/ >> /etc/sysupgrade.conf`,
    );
    expect(setup.code, setup.stderr).toBe(0);
    const { ms } = await h.sysupgrade();
    const r = await run(
      h,
      "opkg list-installed | grep -c -e iperf3 -e ip-full; command -v iperf3 || echo no-iperf3; ls /root; ls /usr/share/nftables.d/chain-pre/input 2>/dev/null | wc -l; [ -e /etc/init.d/custom ] || echo no-custom; cat /etc/config/meshisp /etc/nftables.d/20-m.nft /etc/meshisp/state; ls /etc/dropbear | grep -c authorized_keys; ls /etc/uci-defaults | grep -c 10_disable_services",
    );
    expect(r.out.split("\n")).toEqual([
      "0",
      "no-iperf3",
      "0",
      "no-custom",
      "config mesh 'm'",
      "counter",
      "s",
      "1",
      "0",
    ]);
    expect(await withLabKey(h)).toBe(0);
    console.log(`sysupgrade took ${ms} ms`);
  }, 90_000);

  it("sysupgrade without settings is a factory-fresh router: blank root password, new host key", async () => {
    const h = host("24.10");
    const key = h.hostKey;
    await h.sysupgrade({ keepSettings: false });
    expect(h.hostKey).not.toBe(key);
    expect((await run(h, "ls /etc/dropbear; grep '^root:' /etc/shadow")).out).toBe(
      "dropbear_ed25519_host_key\nroot:::0:99999:7:::",
    );
    expect(await withNothing(h)).toBe(0);
  }, 90_000);
});
