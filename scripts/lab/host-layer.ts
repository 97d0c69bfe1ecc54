// A host's own writable layer (the tmpfs upper dir of its overlay): host key, the runner's key, hostname, root password,
// and for debian hosts the SSH daemon's config and the lab's init files. Written by one script that prints the host key.
import { q } from "./shell.ts";
import { procdImageScript } from "./procd/index.ts";
import type { LabHostKind } from "./types.ts";

export interface HostLayer {
  kind: LabHostKind;
  name: string;
  /** The lab's public key, authorized for root; undefined on a factory-fresh router (nobody's key on it yet). */
  authorizedKey?: string;
  /** crypt(3) hash of the root password; undefined: key-only login (debian), OpenWrt's blank password (openwrt). */
  passwordHash?: string;
  /** The openwrt image the layer lies on (its /etc/shadow is the starting point). */
  image?: string;
}

/**
 * An openwrt host's flash as the lab hands it over: the lab's key where OpenWrt's dropbear reads root's keys
 * (/etc/dropbear/authorized_keys, 0600 in a 0700 directory; never /root/.ssh) unless the router is factory-fresh
 * (a fresh image has no authorized_keys: enrollment must put the installer's key there itself), an ed25519 host key made now so the
 * lab can pin it (dropbear-start would make one at boot otherwise), and the root password when the spec gives one
 * (else the image's empty one stays: a fresh OpenWrt logs root in without a password).
 */
function openwrtLayer(h: HostLayer): string {
  const shadow =
    h.passwordHash === undefined
      ? ""
      : `\nawk -v h=${q(h.passwordHash)} 'BEGIN { FS = OFS = ":" } $1 == "root" { $2 = h } { print }' ${q(`${h.image}/etc/shadow`)} > "$U/etc/shadow"; chmod 600 "$U/etc/shadow"`;
  return `mkdir -p "$U/etc/dropbear"
chmod 700 "$U/etc/dropbear"${
    h.authorizedKey === undefined
      ? ""
      : `
printf '%s\\n' ${q(h.authorizedKey)} > "$U/etc/dropbear/authorized_keys"; chmod 600 "$U/etc/dropbear/authorized_keys"`
  }
dropbearkey -t ed25519 -f "$U/etc/dropbear/dropbear_ed25519_host_key" >/dev/null 2>&1${shadow}
dropbearkey -y -f "$U/etc/dropbear/dropbear_ed25519_host_key" | grep '^ssh-'`;
}

/** Shell lines that fill the upper dir `$U`; the last one prints the public host key. */
export function hostLayerScript(h: HostLayer): string {
  const common = `mkdir -p "$U/root/.ssh" "$U/etc"
chmod 700 "$U/root" "$U/root/.ssh"
printf '%s\\n' ${q(h.authorizedKey ?? "")} > "$U/root/.ssh/authorized_keys"; chmod 600 "$U/root/.ssh/authorized_keys"
echo ${q(h.name)} > "$U/etc/hostname"`;
  const hash = h.passwordHash ?? "*";
  if (h.kind === "openwrt") return openwrtLayer(h);
  const password = h.passwordHash !== undefined;
  return `${common}
mkdir -p "$U/etc/ssh/lab" "$U/etc/init.d" "$U/etc/rc.d"
ssh-keygen -q -t ed25519 -N '' -C ${q(`root@${h.name}`)} -f "$U/etc/ssh/lab/ssh_host_ed25519_key"
for f in /etc/skel/.[!.]*; do cp "$f" "$U/root/"; done
${procdImageScript({ root: '"$U"', mergedUsr: true })}
awk -v h=${q(hash)} 'BEGIN { FS = OFS = ":" } $1 == "root" { $2 = h } { print }' /etc/shadow > "$U/etc/shadow"; chmod 640 "$U/etc/shadow"
cat > "$U/etc/ssh/lab/sshd_config" <<'P'
Port 22
HostKey /etc/ssh/lab/ssh_host_ed25519_key
PermitRootLogin ${password ? "yes" : "prohibit-password"}
PasswordAuthentication ${password ? "yes" : "no"}
KbdInteractiveAuthentication no
UsePAM no
MaxStartups 100
MaxSessions 50
UseDNS no
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
P
cat > "$U/etc/inittab" <<'P'
::sysinit:/etc/init.d/rcS-lab
::respawn:/usr/sbin/sshd -D -e -f /etc/ssh/lab/sshd_config
P
cat > "$U/etc/init.d/rcS-lab" <<'P'
#!/bin/sh
mkdir -p /run/sshd /run/lock /var/log
chmod 1777 /tmp
ip link set lo up
for s in /etc/rc.d/S*; do [ -x "$s" ] && "$s" boot; done
P
chmod +x "$U/etc/init.d/rcS-lab"
cat "$U/etc/ssh/lab/ssh_host_ed25519_key.pub"`;
}
