// The steps that build an "openwrt" image (rootfs.ts lists them in order). Each returns bash lines run with $R set to
// the image directory; all of them together run as one script at lab start.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { q } from "../shell.ts";
import { APPLET_DECISIONS, OPENWRT_FILES, releaseApplets } from "./applets.ts";
import { DEFAULT_INSTALLED, feedPackages } from "./feed.ts";
import { RELEASE_INFO, releaseFiles, type OpenwrtRelease } from "./release.ts";

const LAB_FILES = join(dirname(fileURLToPath(import.meta.url)), "..", "files");

export interface ImageContext {
  root: string;
  release: OpenwrtRelease;
}
export type ImageStep = (ctx: ImageContext) => string;

const write = (path: string, text: string) =>
  `mkdir -p "$R"${q(dirname(path))} && cat > "$R"${q(path)} <<'IMAGE_EOF'\n${text.replace(/\n$/, "")}\nIMAGE_EOF`;
const install = (from: string, to: string, mode = "755") =>
  `mkdir -p "$R"${q(dirname(to))} && cp ${q(from)} "$R"${q(to)} && chmod ${mode} "$R"${q(to)}`;

/** Copies binaries with every shared library they load (libraries are not on PATH; binaries go where asked). */
const withLibraries = (pairs: [string, string][]) =>
  pairs
    .map(
      ([from, to]) => `${install(from, to)}
for lib in $(ldd ${q(from)} | grep -o '/[^ ]*' | sort -u); do mkdir -p "$R$(dirname "$lib")"; [ -e "$R$lib" ] || cp -L "$lib" "$R$lib"; done`,
    )
    .join("\n");

/** The directory tree of a flashed router; /var is a link to /tmp as on OpenWrt. */
export const baseTree: ImageStep =
  () => `mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,usr/libexec,lib/lab,lib64,etc/init.d,etc/rc.d,etc/dropbear,etc/config,etc/uci-defaults,etc/crontabs,etc/profile.d,etc/nftables.d,etc/opkg/keys,usr/share/nftables.d,usr/lib/opkg/info,root,proc,sys,dev,tmp,run,overlay,rom,www}
chmod 700 "$R/root" "$R/etc/dropbear"
chmod 1777 "$R/tmp"
ln -sfn /tmp "$R/var"`;

/** BusyBox and the release's default applets at their paths; the decisions of APPLET_DECISIONS for the others. */
export const busyboxApplets: ImageStep = ({ release }) => {
  const lines = [withLibraries([["/bin/busybox", "/bin/busybox"]])];
  for (const { applet, path } of releaseApplets(release)) {
    const how = APPLET_DECISIONS[applet] ?? { kind: "busybox" as const };
    if (how.kind === "busybox") lines.push(`mkdir -p "$R"${q(dirname(path))} && ln -sfn /bin/busybox "$R"${q(path)}`);
    else if (how.kind === "wrapper" || how.kind === "standin")
      lines.push(
        install(join(OPENWRT_FILES, how.file), path),
        install(join(OPENWRT_FILES, how.file), `/lib/lab/applets/${applet}`),
      );
    else if (how.kind === "debian") lines.push(withLibraries([[how.binary, path]]));
  }
  // What opkg puts back on a path when its last alternative goes (ip-full removed: BusyBox's ip again).
  lines.push(`echo "/sbin/ip /lib/lab/applets/ip" > "$R/lib/lab/alternatives.base"`);
  return lines.join("\n");
};

/** /etc/openwrt_release, /etc/os-release (a link to /usr/lib/os-release, as on OpenWrt), and what opkg reads. */
export const releaseIdentity: ImageStep = ({ release }) =>
  [
    ...Object.entries(releaseFiles(release)).map(([path, text]) => write(path, text)),
    `ln -sfn ../usr/lib/os-release "$R/etc/os-release"`,
    write("/lib/lab/release", `RELEASE=${q(release)}\nRELEASE_VERSION=${q(RELEASE_INFO[release].version)}\n`),
  ].join("\n");

/** Users, the fresh image's empty root password, the shell and the files base-files ships in /etc. */
export const baseFiles: ImageStep = () =>
  [
    write(
      "/etc/passwd",
      "root:x:0:0:root:/root:/bin/ash\ndaemon:*:1:1:daemon:/var:/bin/false\nftp:*:55:55:ftp:/home/ftp:/bin/false\nnetwork:*:101:101:network:/var:/bin/false\nnobody:*:65534:65534:nobody:/var:/bin/false\n",
    ),
    write(
      "/etc/group",
      "root:x:0:\ndaemon:x:1:\nadm:x:4:\nmail:x:8:\ndialout:x:20:\naudio:x:29:\nwww-data:x:33:\nftp:x:55:\nusers:x:100:\nnetwork:x:101:network\nnogroup:x:65534:\n",
    ),
    // OpenWrt's shadow: root's password is empty on a fresh image (dropbear-facts.md).
    write(
      "/etc/shadow",
      "root:::0:99999:7:::\ndaemon:*:0:0:99999:7:::\nftp:*:0:0:99999:7:::\nnetwork:*:0:0:99999:7:::\nnobody:*:0:0:99999:7:::\n",
    ),
    `chmod 600 "$R/etc/shadow"`,
    write("/etc/shells", "/bin/ash\n"),
    write(
      "/etc/hosts",
      "127.0.0.1 localhost\n\n::1     localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n",
    ),
    write("/etc/profile", PROFILE),
    write(
      "/etc/shinit",
      "[ -x /bin/more ] || alias more=less\n[ -x /usr/bin/vim ] && alias vi=vim || alias vim=vi\nalias ll='ls -alF --color=auto'\n",
    ),
    write("/etc/sysctl.conf", "# Defaults are configured in /etc/sysctl.d/* and can be customized in this file\n"),
    write(
      "/etc/rc.local",
      "# Put your custom commands here that should be executed once\n# the system init finished. By default this file does nothing.\n\nexit 0\n",
    ),
    write("/etc/ethers", ""),
    write("/etc/protocols", "ip\t0\tIP\nicmp\t1\tICMP\ntcp\t6\tTCP\nudp\t17\tUDP\nipv6-icmp\t58\tIPv6-ICMP\n"),
    write("/etc/services", "ssh\t\t22/tcp\ndomain\t\t53/tcp\ndomain\t\t53/udp\nhttp\t\t80/tcp\nntp\t\t123/udp\n"),
    write(
      "/etc/iproute2/rt_tables",
      "#\n# reserved values\n#\n128\tprelocal\n255\tlocal\n254\tmain\n253\tdefault\n0\tunspec\n#\n# local\n#\n",
    ),
    write("/etc/iproute2/rt_protos", "0\tunspec\n1\tredirect\n2\tkernel\n3\tboot\n4\tstatic\n"),
    write(
      "/etc/config/system",
      "config system\n\toption hostname 'OpenWrt'\n\toption timezone 'UTC'\n\toption ttylogin '0'\n\toption log_size '128'\n\toption urandom_seed '0'\n",
    ),
    install(join(OPENWRT_FILES, "passwd"), "/bin/passwd"),
  ].join("\n");

const PROFILE = `[ -e /tmp/.failsafe ] && export FAILSAFE=1

[ -f /etc/banner ] && cat /etc/banner
[ -n "$FAILSAFE" ] && cat /etc/banner.failsafe

fgrep -sq '/ overlay ro,' /proc/mounts && {
	echo 'Your JFFS2-partition seems full and overlayfs is mounted read-only.'
	echo 'Please try to remove files from /overlay/upper/... and reboot!'
}

export PATH="/usr/sbin:/usr/bin:/sbin:/bin"
export HOME=$(grep -e "^\${USER:-root}:" /etc/passwd | cut -d ":" -f 6)
export HOME=\${HOME:-/root}
export PS1='\\u@\\h:\\w\\$ '
export ENV=/etc/shinit

case "$TERM" in
	xterm*|rxvt*)
		export PS1='\\[\\e]0;\\u@\\h: \\w\\a\\]'$PS1
		;;
esac

[ -n "$FAILSAFE" ] || {
	for FILE in /etc/profile.d/*.sh; do
		[ -e "$FILE" ] && . "$FILE"
	done
	unset FILE
}

if ( grep -qs '^root::' /etc/shadow && \\
     [ -z "$FAILSAFE" ] )
then
cat << EOF
=== WARNING! =====================================
There is no root password defined on this device!
Use the "passwd" command to set up a new password
in order to prevent unauthorized SSH logins.
--------------------------------------------------
EOF
fi
`;

/** Dropbear (Debian's 2022.83) with the key-path shim built here, its start script and OpenWrt's /etc/config/dropbear. */
export const dropbear: ImageStep = () =>
  [
    withLibraries([
      ["/usr/sbin/dropbear", "/usr/sbin/dropbear"],
      ["/usr/bin/dropbearkey", "/usr/bin/dropbearkey"],
      ["/usr/bin/dbclient", "/usr/bin/dbclient"],
    ]),
    `gcc -shared -fPIC -O2 -o "$R/lib/lab/dropbear-pubkey-path.so" ${q(join(OPENWRT_FILES, "dropbear-pubkey-path.c"))} -ldl`,
    install(join(OPENWRT_FILES, "dropbear-start"), "/lib/lab/dropbear-start"),
    write(
      "/etc/config/dropbear",
      "config dropbear\n\toption PasswordAuth 'on'\n\toption RootPasswordAuth 'on'\n\toption Port         '22'\n",
    ),
  ].join("\n");

/** opkg, the lab's feed for the release (files from this machine), opkg's own config. */
export const packageManager: ImageStep = ({ release }) => {
  const lines = [
    install(join(LAB_FILES, "opkg"), "/bin/opkg"),
    write(
      "/etc/opkg.conf",
      "dest root /\ndest ram /tmp\nlists_dir ext /var/opkg-lists\noption overlay_root /overlay\noption check_signature\n",
    ),
    write(
      "/etc/opkg/customfeeds.conf",
      "# add your custom package feeds here\n#\n# src/gz example_feed_name http://www.example.com/path/to/files\n",
    ),
  ];
  for (const [name, p] of Object.entries(feedPackages(release))) {
    const dir = `/lib/lab/feed/${name}`;
    const control = [
      `Package: ${name}`,
      `Version: ${p.version}`,
      `Section: ${p.section}`,
      p.depends?.length ? `Depends: ${p.depends.join(", ")}` : "",
      p.provides?.length ? `Provides: ${p.provides.join(", ")}` : "",
      p.alternatives?.length
        ? `Alternatives: ${p.alternatives.map((a) => `${a.priority}:${a.path}:${a.target}`).join(", ")}`
        : "",
      p.conffiles?.length ? `Conffiles: ${p.conffiles.join(" ")}` : "",
    ].filter(Boolean);
    lines.push(`mkdir -p "$R"${q(`${dir}/root`)}`, write(`${dir}/control`, `${control.join("\n")}\n`));
    lines.push(
      withLibraries(Object.entries(p.files ?? {}).map(([to, from]): [string, string] => [from, `${dir}/root${to}`])),
    );
  }
  return lines.join("\n");
};

/** What the image records as installed besides the feed's defaults: base packages whose files the image already has. */
const BASE_PACKAGES: Record<string, { version: (r: OpenwrtRelease) => string; conffiles: string[] }> = {
  "base-files": {
    version: (r) => RELEASE_INFO[r].baseFiles,
    conffiles: [
      "/etc/config/system",
      "/etc/ethers",
      "/etc/group",
      "/etc/hosts",
      "/etc/inittab",
      "/etc/iproute2/rt_protos",
      "/etc/iproute2/rt_tables",
      "/etc/passwd",
      "/etc/profile",
      "/etc/protocols",
      "/etc/rc.local",
      "/etc/services",
      "/etc/shadow",
      "/etc/shells",
      "/etc/shinit",
      "/etc/sysctl.conf",
      "/etc/sysupgrade.conf",
    ],
  },
  busybox: { version: () => "1.36.1-1", conffiles: [] },
  dropbear: { version: (r) => RELEASE_INFO[r].dropbear, conffiles: ["/etc/config/dropbear"] },
  opkg: { version: () => "2024.10.16~38eccbb1-r1", conffiles: ["/etc/opkg.conf", "/etc/opkg/customfeeds.conf"] },
  logd: { version: () => "2024.04.26~85f10530-r1", conffiles: [] },
};

/** Last step: records what is installed, with the SHA-256 of each conffile as the image has it now. */
export const installedPackages: ImageStep = ({ release }) => {
  const lines: string[] = [];
  for (const [name, p] of Object.entries(BASE_PACKAGES)) {
    const conffiles = p.conffiles
      .map((f) => `f=${q(f)}; [ -f "$R$f" ] && echo " $f $(sha256sum "$R$f" | cut -d' ' -f1)"`)
      .join("\n");
    lines.push(`{ echo ${q(`Package: ${name}`)}; echo ${q(`Version: ${p.version(release)}`)}; echo 'Status: install user installed'; echo 'Architecture: x86_64'
${p.conffiles.length ? `echo 'Conffiles:'\n${conffiles}` : ""}
echo 'Installed-Time: 1700000000'; echo; } >> "$R/usr/lib/opkg/status"
: > "$R/usr/lib/opkg/info/${name}.list"`);
  }
  // The feed's defaults go in through the image's own opkg, so their records are exactly what a later install writes.
  lines.push(`mkdir -p "$R/tmp/opkg-lists" && ls "$R/lib/lab/feed" > "$R/tmp/opkg-lists/openwrt_base"
chroot "$R" /bin/opkg install ${DEFAULT_INSTALLED.join(" ")} >/dev/null
rm -rf "$R/tmp/opkg-lists"`);
  return lines.join("\n");
};

/** /sbin/sysupgrade, the default /etc/sysupgrade.conf and the keep lists of the default packages. */
export const sysupgradeFiles: ImageStep = () =>
  [
    install(join(OPENWRT_FILES, "sysupgrade"), "/sbin/sysupgrade"),
    write(
      "/etc/sysupgrade.conf",
      "## This file contains files and directories that should\n## be preserved during an upgrade.\n\n# /etc/example.conf\n# /etc/openvpn/\n",
    ),
    write(
      "/lib/upgrade/keep.d/base-files-essential",
      "# Essential files that will be always kept\n/etc/hosts\n/etc/inittab\n/etc/group\n/etc/passwd\n/etc/profile\n/etc/shadow\n/etc/shells\n/etc/shinit\n/etc/sysctl.conf\n/etc/rc.local\n",
    ),
    // Conffile entries that are directories or appear only at runtime: written to keep.d by the packages' builds.
    write("/lib/upgrade/keep.d/base-files", "/etc/config/\n/etc/dropbear/\n/etc/profile.d/\n"),
    write("/lib/upgrade/keep.d/busybox", "/etc/crontabs/\n"),
    write("/lib/upgrade/keep.d/firewall4", "/etc/nftables.d/\n"),
    write("/lib/upgrade/keep.d/opkg", "/etc/opkg/keys/\n"),
  ].join("\n");

/**
 * Kernel parameters at boot, as base-files does it: /etc/init.d/sysctl (an old-style start(), START=11) applies every
 * /etc/sysctl.d/*.conf and then /etc/sysctl.conf with `sysctl -e -p`; 10-default.conf is base-files' own list, which
 * turns IPv4 and IPv6 forwarding on. Without this step a lab router forgot forwarding at every reboot, which no real
 * router does (a role's sysctl.d file is applied by the same init script, so it works after a reboot too).
 */
export const sysctlAtBoot: ImageStep = () =>
  [
    write(
      "/etc/sysctl.d/10-default.conf",
      `# Do not edit, changes to this file will be lost on upgrades
# /etc/sysctl.conf can be used to customize sysctl settings

kernel.panic=3
kernel.core_pattern=/tmp/%e.%t.%p.%s.core
fs.suid_dumpable=2

net.ipv4.conf.default.arp_ignore=1
net.ipv4.conf.all.arp_ignore=1
net.ipv4.ip_forward=1
net.ipv4.icmp_echo_ignore_broadcasts=1
net.ipv4.icmp_ignore_bogus_error_responses=1
net.ipv4.igmp_max_memberships=100
net.ipv4.tcp_fin_timeout=30
net.ipv4.tcp_keepalive_time=120
net.ipv4.tcp_syncookies=1
net.ipv4.tcp_timestamps=1
net.ipv4.tcp_sack=1
net.ipv4.tcp_dsack=1

net.ipv6.conf.default.forwarding=1
net.ipv6.conf.all.forwarding=1
`,
    ),
    write(
      "/etc/init.d/sysctl",
      `#!/bin/sh /etc/rc.common
# Applies the kernel parameters of /etc/sysctl.d and /etc/sysctl.conf at boot (the lab's copy of base-files' script).
START=11

start() {
	for conf in /etc/sysctl.d/*.conf /etc/sysctl.conf; do
		[ -f "$conf" ] && sysctl -e -p "$conf" >/dev/null 2>&1
	done
	return 0
}
`,
    ),
    `chmod 755 "$R/etc/init.d/sysctl" && ln -sfn ../init.d/sysctl "$R/etc/rc.d/S11sysctl"`,
  ].join("\n");

/** logread (the lab's log contract is in its header). */
export const logread: ImageStep = () => install(join(LAB_FILES, "logread"), "/sbin/logread");

/**
 * PID 1 is BusyBox init (until the service manager's step replaces inittab): rcS brings lo up, runs the uci-defaults
 * once (/lib/lab/uci-defaults, as /etc/init.d/boot does, before any S-script), then /etc/rc.d/S* boot; dropbear is
 * respawned by init.
 */
export const bootSequence: ImageStep = () =>
  [
    install(join(OPENWRT_FILES, "uci-defaults"), "/lib/lab/uci-defaults"),
    write("/etc/inittab", "::sysinit:/etc/init.d/rcS S boot\n::respawn:/lib/lab/dropbear-start\n"),
    write(
      "/etc/init.d/rcS",
      `#!/bin/sh
# The lab's boot: loopback up, first-boot scripts, then every enabled service ($1 = S, $2 = boot, as procd calls it).
mkdir -p /var/log /var/run /var/lock /var/state /tmp/.uci
/bin/busybox ip link set lo up
/lib/lab/uci-defaults
for s in /etc/rc.d/S*; do [ -x "$s" ] && "$s" boot; done
exit 0
`,
    ),
    `chmod +x "$R/etc/init.d/rcS"`,
  ].join("\n");
