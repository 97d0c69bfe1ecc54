// Which BusyBox applets an "openwrt" lab host has, and how each one is provided: the release's default applet list
// (fixtures/, copied from shared/openwrt/busybox-applets-openwrt-<rel>-paths.tsv), linked to this machine's BusyBox
// (Debian's 1.35), with one decision per applet that Debian's build lacks or builds with more options than OpenWrt's.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { OpenwrtRelease } from "./release.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
export const OPENWRT_FILES = join(HERE, "files");

export interface Applet {
  applet: string;
  /** Where OpenWrt installs it (/bin, /sbin, /usr/bin or /usr/sbin). */
  path: string;
}

/** The release's default applets at their install paths (the fixture, header skipped). */
export function releaseApplets(release: OpenwrtRelease): Applet[] {
  const text = readFileSync(join(HERE, "fixtures", `busybox-applets-openwrt-${release}-paths.tsv`), "utf8");
  return text
    .split("\n")
    .slice(1)
    .filter(Boolean)
    .map((line) => {
      const [applet, path] = line.split("\t");
      return { applet, path };
    });
}

export type AppletSource =
  /** A link to /bin/busybox, as on OpenWrt. */
  | { kind: "busybox" }
  /** A small shell stand-in (files/<file>) that refuses what OpenWrt's build refuses and passes the rest to BusyBox. */
  | { kind: "wrapper"; file: string; why: string }
  /** A shell stand-in for an applet Debian's BusyBox does not build. */
  | { kind: "standin"; file: string; why: string }
  /** A Debian binary whose options are a superset of the applet's. */
  | { kind: "debian"; binary: string; why: string }
  /** Left out of the image; a tool that needs it finds it missing. */
  | { kind: "absent"; why: string };

/**
 * Every applet not simply linked to BusyBox. Debian's BusyBox 1.35 lacks crond, crontab, flock, fsync, lock, netmsg,
 * nice, ntpd, passwd, pgrep and resize (checked with `busybox --list`); it builds sleep, ps, nc and ip with options
 * OpenWrt turns off (FLOAT_DURATION, DESKTOP, NC_SERVER/NC_EXTRA/NC_110_COMPAT, FEATURE_IP_TUNNEL).
 */
export const APPLET_DECISIONS: Record<string, AppletSource> = {
  sleep: {
    kind: "wrapper",
    file: "sleep",
    why: "FLOAT_DURATION=n: whole numbers only (`sleep 0.5` fails: invalid number)",
  },
  ps: {
    kind: "wrapper",
    file: "ps",
    why: "DESKTOP=n: only `w` (no -o, -e, -f); OpenWrt's column layout PID USER VSZ STAT COMMAND",
  },
  nc: {
    kind: "wrapper",
    file: "nc",
    why: "NC_SERVER=n, NC_EXTRA=n, NC_110_COMPAT=n: `nc IPADDR PORT` only (no -l -p -w -z -u -v -e)",
  },
  ip: {
    kind: "wrapper",
    file: "ip",
    why: "FEATURE_IP_TUNNEL=n: no `ip tunnel` (JSON -j is refused by BusyBox ip on both builds)",
  },
  flock: {
    kind: "debian",
    binary: "/usr/bin/flock",
    why: "util-linux flock takes BusyBox's -s -x -u -n -c (and a few more)",
  },
  nice: { kind: "debian", binary: "/usr/bin/nice", why: "coreutils nice takes BusyBox's -n N" },
  pgrep: { kind: "debian", binary: "/usr/bin/pgrep", why: "procps pgrep takes BusyBox's -l -a -f -n -o -v -x -s -P" },
  fsync: { kind: "standin", file: "fsync", why: "`fsync [-d] FILE...` is BusyBox `sync [-d] FILE...`" },
  lock: { kind: "standin", file: "lock", why: "OpenWrt's own applet (`lock [-suwn] FILE`), rebuilt on flock" },
  crontab: {
    kind: "standin",
    file: "crontab",
    why: "reads and writes /etc/crontabs/<user> as BusyBox's does (-l, -r, FILE, -)",
  },
  passwd: {
    kind: "standin",
    file: "passwd",
    why: "sets root's hash in /etc/shadow (SHA-512, as OpenWrt's default), reading the password twice",
  },
  logger: {
    kind: "standin",
    file: "logger",
    why: "the lab has no syslog socket (its /dev is this machine's): lines go to /var/log/messages, which logread reads",
  },
  crond: { kind: "absent", why: "no scheduler in the lab: crontabs are kept and listed, never run" },
  ntpd: { kind: "absent", why: "the lab's clock is this machine's; there is no NTP server to reach" },
  netmsg: { kind: "absent", why: "OpenWrt's broadcast-message applet; nothing in the project sends one" },
  resize: { kind: "absent", why: "terminal resizing; lab sessions have no serial console" },
};

export const appletSource = (applet: string): AppletSource => APPLET_DECISIONS[applet] ?? { kind: "busybox" };

/** The applets of a release that the image really contains (absent ones left out). */
export const presentApplets = (release: OpenwrtRelease): Applet[] =>
  releaseApplets(release).filter((a) => appletSource(a.applet).kind !== "absent");

/** Tools of a default image that are not BusyBox applets, at their paths (what else a router has on PATH). */
export const NON_BUSYBOX_TOOLS: Record<string, string> = {
  "/bin/busybox": "busybox",
  "/bin/opkg": "opkg",
  "/sbin/logread": "logd",
  "/sbin/sysupgrade": "base-files",
  "/usr/sbin/dropbear": "dropbear",
  "/usr/bin/dropbearkey": "dropbear",
  "/usr/bin/dbclient": "dropbear",
  "/usr/sbin/nft": "nftables-json",
  "/bin/ubus": "ubus",
  "/sbin/fw4": "firewall4",
  "/bin/config_generate": "base-files",
  "/sbin/uci": "uci",
  "/sbin/ifup": "netifd",
  "/sbin/ifdown": "netifd",
};
