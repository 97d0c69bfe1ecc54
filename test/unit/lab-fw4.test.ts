// The lab's fw4 stand-in renders exactly what firewall4 printed (../shared/openwrt/fw4-ruleset-*.nft), for both releases,
// with the host's devices and subnets in place of the capture's: run under BusyBox ash with only OpenWrt's applets.
import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FW4_DATA_DIR, FW4_RELEASES, fw4Files, fw4ImageScript, type Fw4Release } from "../../scripts/lab/fw4/image.ts";
import { openwrtPath } from "../openwrt-shell.ts";

const SHARED = "/work/shared/openwrt";
const fixture = (name: string) => readFileSync(join(SHARED, name), "utf8");
const suffix = (release: Fw4Release) => (release === "23.05" ? "-23.05" : "");
const applets = openwrtPath();
const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

interface Host {
  /** Devices listed in the lan interface of /etc/config/network. */
  lan: string[];
  /** `ip -4 addr show dev X` answers: device -> addresses with prefix. */
  addresses: Record<string, string[]>;
  includes?: boolean;
  /** Extra include files: path under /usr/share/nftables.d -> content. */
  extra?: Record<string, string>;
  firewall?: string;
}

/** A fake root (config, data, includes) and a fake BusyBox-style `ip` that prints the given addresses. */
function fakeRoot(release: Fw4Release, host: Host): string {
  const root = mkdtempSync(join(tmpdir(), "lab-fw4-"));
  roots.push(root);
  mkdirSync(join(root, FW4_DATA_DIR.slice(1)), { recursive: true });
  mkdirSync(join(root, "etc/config"), { recursive: true });
  mkdirSync(join(root, "bin"));
  cpSync(fw4Files.ruleset(release), join(root, FW4_DATA_DIR.slice(1), "ruleset.nft"));
  cpSync(fw4Files.firewallDefault, join(root, FW4_DATA_DIR.slice(1), "firewall.default"));
  writeFileSync(join(root, "etc/config/firewall"), host.firewall ?? readFileSync(fw4Files.firewallDefault, "utf8"));
  const lan = host.lan.map((d) => `\tlist device '${d}'\n`).join("");
  writeFileSync(
    join(root, "etc/config/network"),
    `config interface 'lan'\n${lan}\toption proto 'static'\n\nconfig interface 'wan'\n\toption device 'wan0'\n\nconfig interface 'wan6'\n\toption device 'wan0'\n`,
  );
  const answers = Object.entries(host.addresses)
    .map(
      ([dev, addrs]) =>
        `${dev}) printf '%s\\n' '2: ${dev}@if9: <BROADCAST,UP> mtu 1500 qdisc noqueue qlen 1000' ${addrs.map((a) => `'    inet ${a} scope global ${dev}'`).join(" ")} ;;`,
    )
    .join("\n");
  writeFileSync(
    join(root, "bin/ip"),
    `#!/bin/sh\n[ "$1 $2 $3 $4" = "-4 addr show dev" ] || exit 2\ncase "$5" in\n${answers}\nesac\n`,
  );
  chmodSync(join(root, "bin/ip"), 0o755);
  if (host.includes) cpSync(join(SHARED, "probes/nftables.d"), join(root, "usr/share/nftables.d"), { recursive: true });
  for (const [path, content] of Object.entries(host.extra ?? {})) {
    mkdirSync(join(root, "usr/share/nftables.d", path, ".."), { recursive: true });
    writeFileSync(join(root, "usr/share/nftables.d", path), content);
  }
  return root;
}

function fw4(root: string, ...args: string[]): { stdout: string; stderr: string; code: number } {
  try {
    const stdout = execFileSync(join(applets, "ash"), [fw4Files.fw4, ...args], {
      env: { PATH: `${join(root, "bin")}:${applets}`, LAB_FW4_ROOT: root },
      stdio: ["ignore", "pipe", "pipe"],
    }).toString();
    return { stdout, stderr: "", code: 0 };
  } catch (err) {
    const e = err as { stdout: Buffer; stderr: Buffer; status: number };
    return { stdout: e.stdout.toString(), stderr: e.stderr.toString(), code: e.status };
  }
}
/** stderr of a successful run (execFileSync drops it): run again through ash with 2>&1 into a file. */
function fw4Stderr(root: string, ...args: string[]): string {
  return execFileSync(
    join(applets, "ash"),
    ["-c", `"$0" "$@" 2>&1 >/dev/null`, join(applets, "ash"), fw4Files.fw4, ...args],
    { env: { PATH: `${join(root, "bin")}:${applets}`, LAB_FW4_ROOT: root } },
  ).toString();
}

/** The capture with its router's values (br-lan, wan, 192.168.1.0/24 + ULA, the fixture's wan subnet) replaced by ours. */
function expected(
  text: string,
  { lanDevices, lanSubnets, wanSubnets }: { lanDevices: string[]; lanSubnets: string[]; wanSubnets: string[] },
): string {
  const set = (items: string[]) => `{ ${items.join(", ")} }`;
  const quoted = lanDevices.map((d) => `"${d}"`);
  return text
    .replace(`define lan_devices = { "br-lan" }`, `define lan_devices = ${set(quoted)}`)
    .replace(`define lan_subnets = { 192.168.1.0/24, fd12:3456:789a::/60 }`, `define lan_subnets = ${set(lanSubnets)}`)
    .replace(`define wan_devices = { "wan" }`, `define wan_devices = { "wan0" }`)
    .replace(/define wan_subnets = \{ [^}]* \}/, `define wan_subnets = ${set(wanSubnets)}`)
    .replaceAll(`"br-lan"`, quoted.length === 1 ? quoted[0] : set(quoted))
    .replaceAll(`"wan"`, `"wan0"`);
}

const HOSTS: (Host & { name: string; lanSubnets: string[]; wanSubnets: string[] })[] = [
  {
    name: "an uplink (mgmt0, wan0)",
    lan: ["mgmt0"],
    addresses: { mgmt0: ["198.18.3.10/24"], wan0: ["203.0.113.10/24"] },
    lanSubnets: ["198.18.3.0/24"],
    wanSubnets: ["203.0.113.0/24"],
  },
  {
    name: "behind a home NAT, with a LAN (mgmt0 + lan0)",
    lan: ["mgmt0", "lan0"],
    addresses: { mgmt0: ["198.18.3.11/24"], lan0: ["10.42.0.1/24"], wan0: ["192.168.11.2/24"] },
    lanSubnets: ["198.18.3.0/24", "10.42.0.0/24"],
    wanSubnets: ["192.168.11.0/24"],
  },
];

describe.each(FW4_RELEASES.map((release) => ({ release })))("lab fw4 print, OpenWrt $release", ({ release }) => {
  it.each(
    HOSTS.flatMap((h) =>
      [false, true].map((includes) => ({
        ...h,
        includes,
        label: `${h.name}${includes ? ", an include file in every include directory" : ""}`,
      })),
    ),
  )("equals firewall4's own output line for line: $label", ({ lan, addresses, includes, lanSubnets, wanSubnets }) => {
    const root = fakeRoot(release, { lan, addresses, includes });
    const out = fw4(root, "print");
    expect(out.code).toBe(0);
    const capture = fixture(`fw4-ruleset-${includes ? "with-includes" : "default"}${suffix(release)}.nft`);
    expect(out.stdout.split("\n")).toEqual(expected(capture, { lanDevices: lan, lanSubnets, wanSubnets }).split("\n"));
    expect(out.stdout).not.toMatch(/192\.0\.2\.|br-lan|"wan"/);
    expect(fw4Stderr(root, "print")).toBe(includes ? fixture("fw4-ruleset-with-includes.stderr.txt") : "");
    expect(fw4Stderr(root, "-q", "print")).toBe("");
  });
});

describe("lab fw4 print: what varies", () => {
  const base: Host = { lan: ["mgmt0"], addresses: { mgmt0: ["198.18.3.10/24"], wan0: ["203.0.113.10/24"] } };
  it.each<{ name: string; host: Host; lines: string[] }>([
    {
      name: "a device without an IPv4 address gives an empty set, as fw4 prints it",
      host: { ...base, addresses: { mgmt0: ["198.18.3.10/24"] } },
      lines: ["\tdefine wan_subnets = {  }"],
    },
    {
      name: "a /32 is the bare address; two addresses of one network count once",
      host: { ...base, addresses: { mgmt0: ["198.18.3.10/24", "198.18.3.11/24"], wan0: ["203.0.113.10/32"] } },
      lines: [
        "\tdefine lan_subnets = { 198.18.3.0/24 }",
        "",
        '\tdefine wan_devices = { "wan0" }',
        "\tdefine wan_subnets = { 203.0.113.10 }",
      ],
    },
    {
      name: "a /16 is masked to its network",
      host: { ...base, addresses: { wan0: ["203.0.113.10/24"], mgmt0: ["10.42.7.9/16"] } },
      lines: ["\tdefine lan_subnets = { 10.42.0.0/16 }"],
    },
    {
      name: "two files in one directory: one include line each, sorted",
      host: { ...base, extra: { "chain-pre/input/20-b.nft": "counter\n", "chain-pre/input/10-a.nft": "counter\n" } },
      lines: [
        '\t\tinclude "/usr/share/nftables.d/chain-pre/input/10-a.nft"',
        '\t\tinclude "/usr/share/nftables.d/chain-pre/input/20-b.nft"',
      ],
    },
    {
      name: "a chain of a zone (input_lan) the probes did not cover has its include point",
      host: { ...base, extra: { "chain-pre/input_lan/x.nft": "counter\n" } },
      lines: [
        "\tchain input_lan {",
        '\t\tinclude "/usr/share/nftables.d/chain-pre/input_lan/x.nft"',
        "\t\tjump accept_from_lan",
      ],
    },
  ])("$name", ({ host, lines }) => {
    const out = fw4(fakeRoot("24.10", host), "print");
    expect(out.code).toBe(0);
    const all = out.stdout.split("\n");
    const at = all.indexOf(lines[0]);
    expect(at, out.stdout).toBeGreaterThan(0);
    expect(all.slice(at, at + lines.length)).toEqual(lines);
  });

  it("a directory with no include point (chain-pre/handle_reject) is announced on stderr and gives no include", () => {
    const root = fakeRoot("24.10", { ...base, extra: { "chain-pre/handle_reject/x.nft": "counter\n" } });
    const out = fw4(root, "print");
    expect(out.stdout).not.toMatch(/handle_reject\/x\.nft/);
    expect(out.stdout).toBe(fw4(fakeRoot("24.10", base), "print").stdout);
    expect(fw4Stderr(root, "print")).toBe(
      "[!] Automatically including '/usr/share/nftables.d/chain-pre/handle_reject/x.nft'\n",
    );
  });
});

describe("lab fw4: only the default /etc/config/firewall is imitated", () => {
  const base = { lan: ["mgmt0"], addresses: { mgmt0: ["198.18.3.10/24"], wan0: ["203.0.113.10/24"] } };
  const standard = readFileSync(fw4Files.firewallDefault, "utf8");
  it.each([
    { name: "a zone added", firewall: `${standard}\nconfig zone\n\toption name 'nebula'\n\tlist device 'nebula1'\n` },
    {
      name: "a rule changed (input ACCEPT on wan)",
      firewall: standard.replace(
        /option input 'REJECT'\n\toption output 'ACCEPT'\n\toption forward 'DROP'/,
        "option input 'ACCEPT'\n\toption output 'ACCEPT'\n\toption forward 'DROP'",
      ),
    },
    { name: "an empty file", firewall: "" },
  ])("refuses to render with $name, loudly and non-zero, for every rendering verb", ({ firewall }) => {
    const root = fakeRoot("24.10", { ...base, firewall });
    for (const verb of [["print"], ["-q", "print"], ["check"], ["start"]]) {
      const out = fw4(root, ...verb);
      expect(out.code, verb.join(" ")).toBe(1);
      expect(out.stdout).toBe("");
      expect(out.stderr).toMatch(/^lab fw4: only the default \/etc\/config\/firewall is imitated/);
    }
  });
  it("accepts the default file rewritten as `uci commit` writes it (other quoting, no comments)", () => {
    const rewritten = standard
      .replace(/^#.*\n/gm, "")
      .replace(/'([^']*)'/g, (_, v: string) => (/^[\w.-]+$/.test(v) ? `'${v}'` : `"${v}"`))
      .replace(/\t/g, "    ");
    expect(rewritten).not.toBe(standard);
    expect(fw4(fakeRoot("24.10", { ...base, firewall: rewritten }), "print").code).toBe(0);
  });
});

describe("fw4ImageScript", () => {
  it.each(FW4_RELEASES.map((release) => ({ release })))(
    "installs fw4, the enabled init script and OpenWrt $release's ruleset",
    ({ release }) => {
      const root = mkdtempSync(join(tmpdir(), "lab-fw4-image-"));
      roots.push(root);
      execFileSync("sh", ["-ec", fw4ImageScript({ root, release })]);
      expect(readFileSync(join(root, "usr/share/lab-fw4/ruleset.nft"), "utf8")).toBe(
        readFileSync(fw4Files.ruleset(release), "utf8"),
      );
      expect(
        execFileSync("readlink", [join(root, "etc/rc.d/S19firewall")])
          .toString()
          .trim(),
      ).toBe("../init.d/firewall");
      const init = readFileSync(join(root, "etc/init.d/firewall"), "utf8");
      expect(init).toMatch(/^#!\/bin\/sh \/etc\/rc\.common\n/);
      expect(init).toMatch(/^START=19$/m);
      expect(init).toMatch(/^USE_PROCD=1$/m);
      expect(readFileSync(join(root, "etc/config/firewall"), "utf8")).toBe(
        readFileSync(fw4Files.firewallDefault, "utf8"),
      );
    },
  );
  it("defaults to 24.10 and refuses a release with no capture", () => {
    expect(fw4ImageScript({ root: "/x" })).toContain("ruleset-24.10.nft");
    expect(() => fw4ImageScript({ root: "/x", release: "22.03" })).toThrow(/no captured ruleset for OpenWrt 22\.03/);
  });
});
