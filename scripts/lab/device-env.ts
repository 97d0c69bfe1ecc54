// A lab host's processes start with a device's own environment, never the test process's: its TMPDIR, for one, names a
// directory that exists only outside the host (the lab fw4's mktemp failed inside routers with it: 2be3c4a).
import type { LabHostKind } from "./types.ts";

/**
 * PATH as the device's shell has it: OpenWrt's /etc/profile (base-files), Debian's root login (/etc/profile, the same
 * as systemd's default for services). Written from those files' defaults, not captured on a device.
 */
const PATH: Record<LabHostKind, string> = {
  openwrt: "/usr/sbin:/usr/bin:/sbin:/bin",
  debian: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
};

/** What the kernel hands a device's init (HOME=/, TERM=linux; the init system sets the rest), as an `env -i` prefix. */
export const initEnv = (kind: LabHostKind): string => `env -i HOME=/ TERM=linux PATH=${PATH[kind]}`;

/** A root shell on the device (its console, or an SSH login): root's HOME and the device's PATH, as an `env -i` prefix. */
export const rootShellEnv = (kind: LabHostKind): string =>
  `env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/sh TERM=linux PATH=${PATH[kind]}`;
