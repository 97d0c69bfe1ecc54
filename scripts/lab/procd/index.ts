// Installs the lab's stand-in for procd, /etc/rc.common and ubus into a host's root (shell lines for the image scripts).
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { q } from "../shell.ts";

const HERE = dirname(fileURLToPath(import.meta.url));

/** Where the stand-in keeps its private tools (a full BusyBox for sub-second sleeps and setsid): not on PATH. */
const LAB_PROCD_DIR = "/usr/libexec/lab-procd";

export interface ProcdImage {
  /** The root as a shell word, e.g. `"$R"` or `"$U"`. */
  root: string;
  /** Debian's /bin and /lib are symlinks into /usr: an upper layer must not shadow them with directories. */
  mergedUsr?: boolean;
}

/**
 * Shell lines putting /etc/rc.common, /lib/functions/procd.sh, /bin/ubus (OpenWrt's paths) and the supervisor in place.
 * Instances' output (procd_set_param stdout/stderr 1) goes to /var/log/<service>.log, procd's own messages to
 * /var/log/procd.log: what the lab's logread reads.
 */
export function procdImageScript({ root, mergedUsr = false }: ProcdImage): string {
  const bin = mergedUsr ? "usr/bin" : "bin";
  const lib = mergedUsr ? "usr/lib" : "lib";
  const file = (name: string) => q(join(HERE, name));
  return [
    `mkdir -p ${root}/etc ${root}/${bin} ${root}/${lib}/functions ${root}${LAB_PROCD_DIR}`,
    `cp ${file("rc.common")} ${root}/etc/rc.common`,
    `cp ${file("procd.sh")} ${root}/${lib}/functions/procd.sh`,
    `cp ${file("ubus")} ${root}/${bin}/ubus`,
    `cp ${file("supervise")} ${file("lib.sh")} ${root}${LAB_PROCD_DIR}/`,
    `cp /bin/busybox ${root}${LAB_PROCD_DIR}/busybox`,
    `chmod 755 ${root}/etc/rc.common ${root}/${bin}/ubus ${root}${LAB_PROCD_DIR}/supervise ${root}${LAB_PROCD_DIR}/busybox`,
  ].join("\n");
}
