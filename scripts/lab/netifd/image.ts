// Shell lines that install the lab's netifd stand-in and uci into an openwrt image root: /sbin/uci, /lib/lab/netifd,
// /etc/init.d/network enabled at boot (S20network, K90network: `enabled` wants both, and a sysupgrade disables what is
// not enabled), /sbin/ifup and /sbin/ifdown. uci and netifd are in every default image (default-packages-*.txt).
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { q } from "../shell.ts";

const HERE = dirname(fileURLToPath(import.meta.url));

/** The stand-ins' files in this checkout (tests run them against a fake root). */
export const netifdFiles = {
  uci: join(HERE, "..", "openwrt", "files", "uci"),
  netifd: join(HERE, "netifd"),
  init: join(HERE, "network.init"),
  ifup: join(HERE, "ifup"),
};

export function netifdImageScript({ root }: { root: string }): string {
  const r = (path: string) => q(`${root}${path}`);
  return [
    `mkdir -p ${r("/sbin")} ${r("/lib/lab")} ${r("/etc/init.d")} ${r("/etc/rc.d")} ${r("/tmp")}`,
    `cp ${q(netifdFiles.uci)} ${r("/sbin/uci")}`,
    `cp ${q(netifdFiles.netifd)} ${r("/lib/lab/netifd")}`,
    `cp ${q(netifdFiles.init)} ${r("/etc/init.d/network")}`,
    `cp ${q(netifdFiles.ifup)} ${r("/sbin/ifup")}`,
    `ln -sfn ifup ${r("/sbin/ifdown")}`,
    `chmod 755 ${r("/sbin/uci")} ${r("/lib/lab/netifd")} ${r("/etc/init.d/network")} ${r("/sbin/ifup")}`,
    `ln -sfn ../init.d/network ${r("/etc/rc.d/S20network")} && ln -sfn ../init.d/network ${r("/etc/rc.d/K90network")}`,
  ].join("\n");
}
