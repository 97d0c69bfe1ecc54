// The lab: real hosts in network namespaces on this machine, a simulated internet, home NATs, and an inventory for them.
// Address plan (DESIGN.md): management 198.18.S.0/24 per lab (bridge in the root namespace, ports isolated, no default
// route), internet 203.0.113.0/24, internet services 198.51.100.0/24, homes 192.168.H.0/24 behind nftables masquerade.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { bash, pool, q, type Result } from "./shell.ts";
import { buildOpenwrtImage, prepareUpper } from "./rootfs.ts";

export interface LabHostSpec {
  name: string;
  kind: "openwrt" | "debian";
  /** Inventory group: hub, relays, uplinks, clients, bench, ... */
  group: string;
  /** Behind a home NAT gateway; blockUdpTo drops UDP the gateway forwards to those addresses. */
  home?: { blockUdpTo?: string[] };
  /** Root password (first-contact login) in addition to the lab's key. */
  password?: string;
  /** A LAN behind this host with one device namespace in it (e.g. the hub's LAN with a client PC). */
  lan?: { subnet: string };
  vars?: Record<string, unknown>;
  /** Leave the host out of the written inventory (enrollment adds it). */
  notInInventory?: boolean;
}

export interface LabSpec {
  hosts: LabHostSpec[];
  runId?: string;
}

export interface LabHost {
  name: string;
  kind: "openwrt" | "debian";
  group: string;
  mgmtAddress: string;
  wanAddress: string;
  /** The public address the internet sees (the home gateway's, for hosts behind NAT). */
  publicAddress: string;
  lanAddress?: string;
  pid: number;
  netns: string;
  hostKey: string;
  exec(cmd: string): Promise<Result>;
  /** Runs in the host's home gateway namespace (hosts behind NAT only). */
  execGateway(cmd: string): Promise<Result>;
  /** Runs in the device namespace on the host's LAN (hosts with `lan` only). */
  execLan(cmd: string): Promise<Result>;
}

export interface Lab {
  runId: string;
  dir: string;
  inventoryPath: string;
  knownHostsPath: string;
  sshKeyPath: string;
  hosts: LabHost[];
  host(name: string): LabHost;
  /** The internet router namespace and the internet services namespace (198.51.100.10). */
  internet: { exec(cmd: string): Promise<Result> };
  services: { exec(cmd: string): Promise<Result>; address: string };
  down(): Promise<void>;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const LAB_DIR = join(ROOT, ".lab");
const ID_PATTERN = /^ml[0-9a-f]{4}$/;

interface State {
  runId: string;
  slot: number;
  pids: number[];
  mounts: string[];
  netns: string[];
  links: string[];
}

const inNs = (ns: string, cmd: string) => bash(`ip netns exec ${q(ns)} sh -c ${q(cmd)}`, { check: false });
const inHost = (pid: number, cmd: string) => bash(`nsenter -t ${pid} -m -u -n -p -r -w /bin/sh -c ${q(cmd)}`, { check: false });

async function freeSlot(): Promise<number> {
  const used = new Set((await bash("ip -4 -o addr show", { check: false })).stdout.match(/198\.18\.(\d+)\.1\//g)?.map((m) => Number(m.split(".")[2])) ?? []);
  for (let s = 1; s < 250; s++) if (!used.has(s)) return s;
  throw new Error("no free management slot in 198.18.0.0/16: run `npx tsx scripts/lab.ts down`");
}

export async function labUp(spec: LabSpec): Promise<Lab> {
  if (process.getuid?.() !== 0) throw new Error("the lab needs root (network namespaces)");
  const runId = spec.runId ?? `ml${randomBytes(2).toString("hex")}`;
  const dir = join(LAB_DIR, runId);
  mkdirSync(dir, { recursive: true });
  const slot = await freeSlot();
  const state: State = { runId, slot, pids: [], mounts: [], netns: [], links: [] };
  const save = () => writeFileSync(join(dir, "state.json"), JSON.stringify(state, null, 2));
  save();
  const lab = { runId, dir } as Lab;
  lab.down = () => labDown(runId);
  try {
    const sshKeyPath = join(dir, "id_ed25519");
    if (!existsSync(sshKeyPath)) await bash(`ssh-keygen -q -t ed25519 -N '' -C meshisp-lab-${runId} -f ${q(sshKeyPath)}`);
    const authorizedKey = readFileSync(`${sshKeyPath}.pub`, "utf8").trim();
    if (spec.hosts.some((h) => h.kind === "openwrt")) await buildOpenwrtImage(dir);

    // Management bridge (root namespace, ports isolated from each other), internet and services namespaces.
    const br = `${runId}br`;
    const inet = `${runId}-inet`;
    const svc = `${runId}-svc`;
    state.links.push(br);
    state.netns.push(inet, svc);
    save();
    await bash(`set -e
ip link add ${br} type bridge && ip addr add 198.18.${slot}.1/24 dev ${br} && ip link set ${br} up
ip netns add ${inet} && ip netns add ${svc}
ip -n ${inet} link set lo up && ip -n ${svc} link set lo up
ip -n ${inet} link add br0 type bridge && ip -n ${inet} addr add 203.0.113.1/24 dev br0 && ip -n ${inet} link set br0 up
ip netns exec ${inet} sysctl -qw net.ipv4.ip_forward=1
ip link add ${runId}s0 netns ${inet} type veth peer name eth0 netns ${svc}
ip -n ${inet} link set ${runId}s0 name svc0 && ip -n ${inet} addr add 198.51.100.1/24 dev svc0 && ip -n ${inet} link set svc0 up
ip -n ${svc} addr add 198.51.100.10/24 dev eth0 && ip -n ${svc} link set eth0 up && ip -n ${svc} route add default via 198.51.100.1`);

    const hosts = await pool(spec.hosts, 8, async (h, i) => {
      const ns = `${runId}-${i}`;
      const home = !!h.home;
      const mgmt = `198.18.${slot}.${10 + i}`;
      const wan = home ? `192.168.${10 + i}.2` : `203.0.113.${10 + i}`;
      const publicAddress = home ? `203.0.113.${130 + i}` : wan;
      const gw = `${runId}-g${i}`;
      const lanNs = `${runId}-l${i}`;
      state.netns.push(ns, ...(home ? [gw] : []), ...(h.lan ? [lanNs] : []));
      const lines = [
        `set -e`,
        `ip netns add ${ns}`,
        `ip -n ${ns} link set lo up`,
        // management
        `ip link add ${runId}m${i} type veth peer name mgmt0 netns ${ns}`,
        `ip link set ${runId}m${i} master ${br} && bridge link set dev ${runId}m${i} isolated on && ip link set ${runId}m${i} up`,
        `ip -n ${ns} addr add ${mgmt}/24 dev mgmt0 && ip -n ${ns} link set mgmt0 up`,
      ];
      if (!home) {
        lines.push(
          `ip link add ${runId}w${i} netns ${inet} type veth peer name wan0 netns ${ns}`,
          `ip -n ${inet} link set ${runId}w${i} master br0 && ip -n ${inet} link set ${runId}w${i} up`,
          `ip -n ${ns} addr add ${wan}/24 dev wan0 && ip -n ${ns} link set wan0 up && ip -n ${ns} route add default via 203.0.113.1`,
        );
      } else {
        const block = (h.home?.blockUdpTo ?? []).map((a) => `    ip daddr ${a} meta l4proto udp drop`).join("\n");
        lines.push(
          `ip netns add ${gw} && ip -n ${gw} link set lo up`,
          `ip link add ${runId}w${i} netns ${inet} type veth peer name wan0 netns ${gw}`,
          `ip -n ${inet} link set ${runId}w${i} master br0 && ip -n ${inet} link set ${runId}w${i} up`,
          `ip -n ${gw} addr add ${publicAddress}/24 dev wan0 && ip -n ${gw} link set wan0 up && ip -n ${gw} route add default via 203.0.113.1`,
          `ip link add ${runId}h${i} netns ${gw} type veth peer name wan0 netns ${ns}`,
          `ip -n ${gw} link set ${runId}h${i} name lan0 && ip -n ${gw} addr add 192.168.${10 + i}.1/24 dev lan0 && ip -n ${gw} link set lan0 up`,
          `ip -n ${ns} addr add ${wan}/24 dev wan0 && ip -n ${ns} link set wan0 up && ip -n ${ns} route add default via 192.168.${10 + i}.1`,
          `ip netns exec ${gw} sysctl -qw net.ipv4.ip_forward=1`,
          `ip netns exec ${gw} nft -f - <<'NFT'
table ip home {
  chain postrouting { type nat hook postrouting priority srcnat; oifname "wan0" masquerade; }
  chain forward {
    type filter hook forward priority filter; policy accept;
${block}
    iifname "wan0" ct state established,related accept
    iifname "wan0" drop
  }
}
NFT`,
        );
      }
      if (h.lan) {
        const [net, bits] = h.lan.subnet.split("/");
        const base = net.split(".").slice(0, 3).join(".");
        lines.push(
          `ip netns add ${lanNs} && ip -n ${lanNs} link set lo up`,
          `ip link add ${runId}l${i} netns ${ns} type veth peer name eth0 netns ${lanNs}`,
          `ip -n ${ns} link set ${runId}l${i} name lan0 && ip -n ${ns} addr add ${base}.1/${bits} dev lan0 && ip -n ${ns} link set lan0 up`,
          `ip -n ${lanNs} addr add ${base}.10/${bits} dev eth0 && ip -n ${lanNs} link set eth0 up && ip -n ${lanNs} route add default via ${base}.1`,
        );
      }
      save();
      await bash(lines.join("\n"));

      // Root filesystem: overlay (openwrt image or this machine's /) with a per-host tmpfs upper layer.
      const hostDir = join(dir, "hosts", h.name);
      const root = join(hostDir, "root");
      const layer = join(hostDir, "layer");
      mkdirSync(root, { recursive: true });
      mkdirSync(layer, { recursive: true });
      state.mounts.push(root, layer);
      save();
      await bash(`mount -t tmpfs -o size=256m tmpfs ${q(layer)} && mkdir -p ${q(`${layer}/upper`)} ${q(`${layer}/work`)}`);
      const hostKey = await prepareUpper(h.kind, `${layer}/upper`, { name: h.name, authorizedKey, password: h.password });
      const lower = h.kind === "openwrt" ? join(dir, "openwrt-image") : "/";
      await bash(`mount -t overlay overlay -o ${q(`lowerdir=${lower},upperdir=${layer}/upper,workdir=${layer}/work`)} ${q(root)}`);

      // The host's init: new PID, UTS and mount namespaces inside its network namespace, chrooted, busybox init as PID 1.
      const boot = `mount -t proc proc ${q(`${root}/proc`)} && mount -t sysfs sysfs ${q(`${root}/sys`)} && mount --rbind /dev ${q(`${root}/dev`)} && mount -t tmpfs -o mode=1777 tmpfs ${q(`${root}/tmp`)} && ${h.kind === "debian" ? `mount -t tmpfs tmpfs ${q(`${root}/run`)} && ` : ""}hostname ${q(h.name)} && exec chroot ${q(root)} /bin/busybox init`;
      const started = await bash(`ip netns exec ${ns} unshare --pid --uts --mount --fork --propagation private sh -c ${q(boot)} >/dev/null 2>&1 </dev/null & echo $!`);
      const parent = Number(started.stdout.trim());
      let pid = 0;
      for (let t = 0; t < 200 && !pid; t++) {
        const children = (await bash(`cat /proc/${parent}/task/*/children 2>/dev/null`, { check: false })).stdout.trim();
        if (children) pid = Number(children.split(/\s+/)[0]);
        else await new Promise((r) => setTimeout(r, 10));
      }
      if (!pid) throw new Error(`lab host ${h.name} did not start`);
      state.pids.push(pid, parent);
      save();
      return {
        name: h.name,
        kind: h.kind,
        group: h.group,
        mgmtAddress: mgmt,
        wanAddress: wan,
        publicAddress,
        lanAddress: h.lan ? `${h.lan.subnet.split(".").slice(0, 3).join(".")}.10` : undefined,
        pid,
        netns: ns,
        hostKey,
        exec: (cmd: string) => inHost(pid, cmd),
        execGateway: (cmd: string) => (home ? inNs(gw, cmd) : Promise.reject(new Error(`${h.name} is not behind a home gateway`))),
        execLan: (cmd: string) => (h.lan ? inNs(lanNs, cmd) : Promise.reject(new Error(`${h.name} has no LAN`))),
      } satisfies LabHost;
    });

    // Wait until every SSH daemon answers.
    await pool(hosts, 16, async (h) => {
      for (let t = 0; t < 300; t++) {
        const r = await bash(`exec 3<>/dev/tcp/${h.mgmtAddress}/22 && head -c 4 <&3`, { check: false });
        if (r.stdout.startsWith("SSH-")) return;
        await new Promise((res) => setTimeout(res, 20));
      }
      throw new Error(`lab host ${h.name}: its SSH daemon did not start`);
    });

    const knownHostsPath = join(dir, "known_hosts");
    const inventoryPath = join(dir, "inventory.yml");
    writeFileSync(inventoryPath, inventoryYaml(runId, sshKeyPath, knownHostsPath, spec.hosts, hosts));
    Object.assign(lab, {
      inventoryPath,
      knownHostsPath,
      sshKeyPath,
      hosts,
      host: (name: string) => {
        const found = hosts.find((h) => h.name === name);
        if (!found) throw new Error(`no lab host ${name}`);
        return found;
      },
      internet: { exec: (cmd: string) => inNs(inet, cmd) },
      services: { exec: (cmd: string) => inNs(svc, cmd), address: "198.51.100.10" },
    });
    return lab;
  } catch (err) {
    await labDown(runId).catch(() => undefined);
    throw err;
  }
}

function inventoryYaml(runId: string, key: string, knownHosts: string, specs: LabHostSpec[], hosts: LabHost[]): string {
  const groups = new Map<string, string[]>();
  specs.forEach((s, i) => {
    if (s.notInInventory) return;
    const h = hosts[i];
    const vars = { wan_address: h.wanAddress, public_address: h.publicAddress, ...(s.lan ? { lan_subnet: s.lan.subnet } : {}), ...(s.vars ?? {}) };
    const entry = [`      ${s.name}:`, `        address: ${h.mgmtAddress}`, `        os: ${s.kind}`, `        vars: ${JSON.stringify(vars)}`];
    groups.set(s.group, [...(groups.get(s.group) ?? []), ...entry]);
  });
  return [
    `# Lab inventory written by scripts/lab (run ${runId}). Hosts are reached over the lab's management network.`,
    `ssh_key: ${key}`,
    `known_hosts: ${knownHosts}`,
    `vars:`,
    `  lab: true`,
    `groups:`,
    ...[...groups].flatMap(([g, lines]) => [`  ${g}:`, `    hosts:`, ...lines]),
    "",
  ].join("\n");
}

/** known_hosts lines for lab hosts (to pre-pin keys in tests). */
export const knownHostsLines = (lab: Lab) => lab.hosts.map((h) => `${h.mgmtAddress} ${h.hostKey}`).join("\n") + "\n";

/** Removes one lab, or every lab left in .lab/ (after a crash). Idempotent. */
export async function labDown(runId?: string): Promise<void> {
  const ids = runId ? [runId] : existsSync(LAB_DIR) ? readdirSync(LAB_DIR).filter((d) => ID_PATTERN.test(d)) : [];
  for (const id of ids) {
    const dir = join(LAB_DIR, id);
    const file = join(dir, "state.json");
    const state: State | undefined = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : undefined;
    if (state) {
      for (const pid of state.pids) {
        // Only our own processes: the init we started (busybox) or its unshare parent.
        const cmd = existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, "utf8") : "";
        if (/busybox|unshare/.test(cmd)) await bash(`kill -9 ${pid}`, { check: false });
      }
      for (const m of [...state.mounts].reverse()) await bash(`mountpoint -q ${q(m)} && umount -R -l ${q(m)}`, { check: false });
      for (const ns of state.netns) await bash(`ip netns del ${q(ns)}`, { check: false });
      for (const link of state.links) await bash(`ip link del ${q(link)}`, { check: false });
    }
    // Anything named after this run that state.json missed (a crash mid-write).
    const leftovers = (await bash(`ip netns list | awk '{print $1}' | grep '^${id}-' || true`, { check: false })).stdout.split("\n").filter(Boolean);
    for (const ns of leftovers) await bash(`ip netns del ${q(ns)}`, { check: false });
    await bash(`ip link del ${id}br 2>/dev/null || true`, { check: false });
    const mounts = (await bash(`grep -o ' ${dir}/[^ ]*' /proc/mounts || true`, { check: false })).stdout.split("\n").map((s) => s.trim()).filter(Boolean);
    for (const m of mounts.reverse()) await bash(`umount -R -l ${q(m)}`, { check: false });
    // Never recurse into a directory that still has something mounted under it.
    if (!readFileSync("/proc/mounts", "utf8").includes(` ${dir}/`)) rmSync(dir, { recursive: true, force: true });
  }
}
