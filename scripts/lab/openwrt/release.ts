// The OpenWrt releases the lab imitates, and what each one says about itself (/etc/openwrt_release, /etc/os-release).
// Versions and revisions are those of the trees read for ../../../shared/openwrt/ (see its README, section 3).
export const OPENWRT_RELEASES = ["23.05", "24.10"] as const;
export type OpenwrtRelease = (typeof OPENWRT_RELEASES)[number];
export const DEFAULT_OPENWRT_RELEASE: OpenwrtRelease = "24.10";

export interface ReleaseInfo {
  /** The point release imitated. */
  version: string;
  /** Build revision, as DISTRIB_REVISION prints it. */
  revision: string;
  /** Kernel version the release's kmod-* packages carry (the lab runs this machine's kernel). */
  kernel: string;
  /** iproute2's package version (ip-full, ip-tiny, tc-full, tc-tiny, tc-bpf). */
  iproute2: string;
  nftables: string;
  dropbear: string;
  iperf3: string;
  baseFiles: string;
}

export const RELEASE_INFO: Record<OpenwrtRelease, ReleaseInfo> = {
  "23.05": {
    version: "23.05.5",
    revision: "r24106-10cc5fcd00",
    kernel: "5.15.167-1",
    iproute2: "6.3.0-1",
    nftables: "1.0.8-1",
    dropbear: "2022.82-6",
    iperf3: "3.17.1-1",
    baseFiles: "1552-r24106-10cc5fcd00",
  },
  "24.10": {
    version: "24.10.4",
    revision: "r28959-29397011cc",
    kernel: "6.6.110-1",
    iproute2: "6.11.0-1",
    nftables: "1.1.1-1",
    dropbear: "2024.86-1",
    iperf3: "3.18-1",
    baseFiles: "1565-r28959-29397011cc",
  },
};

export const isOpenwrtRelease = (r: unknown): r is OpenwrtRelease =>
  (OPENWRT_RELEASES as readonly unknown[]).includes(r);

/** The two files a tool reads to learn the release (the project's facts read openwrt_release). */
export function releaseFiles(release: OpenwrtRelease): Record<string, string> {
  const r = RELEASE_INFO[release];
  return {
    "/etc/openwrt_release": `DISTRIB_ID='OpenWrt'
DISTRIB_RELEASE='${r.version}'
DISTRIB_REVISION='${r.revision}'
DISTRIB_TARGET='x86/64'
DISTRIB_ARCH='x86_64'
DISTRIB_DESCRIPTION='OpenWrt ${r.version} ${r.revision}'
DISTRIB_TAINTS=''
`,
    "/usr/lib/os-release": `NAME="OpenWrt"
VERSION="${r.version}"
ID="openwrt"
ID_LIKE="lede openwrt"
PRETTY_NAME="OpenWrt ${r.version}"
VERSION_ID="${r.version}"
HOME_URL="https://openwrt.org/"
BUG_URL="https://bugs.openwrt.org/"
SUPPORT_URL="https://forum.openwrt.org/"
BUILD_ID="${r.revision}"
OPENWRT_BOARD="x86/64"
OPENWRT_ARCH="x86_64"
OPENWRT_TAINTS=""
OPENWRT_DEVICE_MANUFACTURER="OpenWrt"
OPENWRT_DEVICE_MANUFACTURER_URL="https://openwrt.org/"
OPENWRT_DEVICE_PRODUCT="Generic"
OPENWRT_DEVICE_REVISION="v0"
OPENWRT_RELEASE="OpenWrt ${r.version} ${r.revision}"
`,
  };
}
