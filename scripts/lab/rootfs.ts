// Root filesystems of lab hosts: a small "openwrt" tree (dynamic BusyBox, dropbear, ip/tc/nft, iperf3) built once per
// run, and "debian" hosts as an overlay of this machine's own /.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bash, q } from "./shell.ts";
import { procdImageScript } from "./procd/index.ts";

const FILES = join(dirname(fileURLToPath(import.meta.url)), "files");

/** Binaries of the openwrt image, with every shared library they load. */
const OPENWRT_BINARIES = ["/bin/busybox", "/usr/sbin/dropbear", "/usr/bin/dropbearkey", "/bin/ip", "/usr/sbin/tc", "/usr/sbin/nft", "/usr/bin/iperf3"];
/** Packages the lab's opkg feed offers: name -> files copied into the image on install. */
const FEED: Record<string, { version: string; files: Record<string, string> }> = {
  nebula: { version: "1.6.1-1", files: { "/usr/sbin/nebula": "/usr/bin/nebula", "/usr/sbin/nebula-cert": "/usr/bin/nebula-cert" } },
  iperf3: { version: "3.12-1", files: {} },
  "kmod-ifb": { version: "5.15-1", files: {} },
  "kmod-vxlan": { version: "5.15-1", files: {} },
  "kmod-nft-nat": { version: "5.15-1", files: {} },
  "ip-full": { version: "6.1-1", files: {} },
  "kmod-sched-core": { version: "5.15-1", files: {} },
  "tc-full": { version: "6.1-1", files: {} },
};

export async function buildOpenwrtImage(dir: string): Promise<void> {
  const root = join(dir, "openwrt-image");
  if (existsSync(join(root, ".built"))) return;
  const feed = Object.entries(FEED)
    .map(([name, p]) =>
      [
        `mkdir -p ${q(`${root}/lab-feed/${name}/root`)}`,
        `echo ${q(p.version)} > ${q(`${root}/lab-feed/${name}/version`)}`,
        `: > ${q(`${root}/lab-feed/${name}/files`)}`,
        ...Object.entries(p.files).map(
          ([to, from]) =>
            `mkdir -p ${q(dirname(`${root}/lab-feed/${name}/root${to}`))} && cp ${q(from)} ${q(`${root}/lab-feed/${name}/root${to}`)} && echo ${q(to)} >> ${q(`${root}/lab-feed/${name}/files`)}`,
        ),
      ].join("\n"),
    )
    .join("\n");
  await bash(`set -euo pipefail
R=${q(root)}
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,etc/init.d,etc/rc.d,etc/dropbear,etc/sysctl.d,etc/config,root/.ssh,proc,sys,dev,tmp,run,overlay,usr/lib/opkg/installed}
chmod 700 "$R/root" "$R/root/.ssh"
for b in ${OPENWRT_BINARIES.join(" ")}; do
  mkdir -p "$R$(dirname "$b")"; cp "$b" "$R$b"
  for lib in $(ldd "$b" | grep -o '/[^ ]*' | sort -u); do mkdir -p "$R$(dirname "$lib")"; cp -L "$lib" "$R$lib"; done
done
# BusyBox applets where OpenWrt has them; never over the real ip, tc, nft.
for applet in $(/bin/busybox --list-full); do
  case "$(basename "$applet")" in ip|tc|nft|iperf3) continue ;; esac
  [ -e "$R/$applet" ] || ln -s /bin/busybox "$R/$applet"
done
ln -s /bin/ip "$R/sbin/ip"
ln -sf /tmp "$R/var"
${procdImageScript({ root: '"$R"' })}
cp ${q(`${FILES}/opkg`)} "$R/bin/opkg"
rm -f "$R/sbin/logread"; cp ${q(`${FILES}/logread`)} "$R/sbin/logread"
cat > "$R/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/ash
daemon:*:1:1:daemon:/var:/bin/false
nobody:*:65534:65534:nobody:/var:/bin/false
P
cat > "$R/etc/group" <<'P'
root:x:0:
daemon:x:1:
nogroup:x:65534:
P
echo "/bin/ash" > "$R/etc/shells"
cat > "$R/etc/openwrt_release" <<'P'
DISTRIB_ID='OpenWrt'
DISTRIB_RELEASE='22.03.5'
DISTRIB_REVISION='r20134-5f15225c1e'
DISTRIB_TARGET='ath79/generic'
DISTRIB_ARCH='mips_24kc'
DISTRIB_DESCRIPTION='OpenWrt 22.03.5 r20134-5f15225c1e (meshisp lab)'
P
cat > "$R/etc/os-release" <<'P'
NAME="OpenWrt"
VERSION="22.03.5"
ID="openwrt"
PRETTY_NAME="OpenWrt 22.03.5 (meshisp lab)"
P
echo "127.0.0.1 localhost" > "$R/etc/hosts"
cat > "$R/etc/inittab" <<'P'
::sysinit:/etc/init.d/rcS
::respawn:/usr/sbin/dropbear -F -E -p 22 -r /etc/dropbear/dropbear_ed25519_host_key
P
cat > "$R/etc/init.d/rcS" <<'P'
#!/bin/sh
mkdir -p /tmp/log /tmp/run /var/run
ip link set lo up
for s in /etc/rc.d/S*; do [ -x "$s" ] && "$s" boot; done
P
chmod +x "$R/etc/init.d/rcS" "$R/etc/rc.common" "$R/bin/opkg" "$R/sbin/logread"
${feed}
touch "$R/.built"
`);
}

