// The lab from the command line: up (default topology, --hosts or --bench N; --topology pilot|internet), down, status, ssh.
// Usage: npx tsx scripts/lab.ts up [--topology T] [--hosts SPEC | --bench N] [--run-id ID] | down [RUN_ID] [--all] | status | ssh HOST [RUN_ID]
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { labDown, labUp, LAB_DIR, type InternetLab, type PilotLab } from "./lab/index.ts";
import { labRunIds, ownerAlive, readState } from "./lab/state.ts";
import { UserError } from "../lib/errors.ts";
import { benchTopology, DEFAULT_TOPOLOGY, HOSTS_SPEC_HELP, parseHostsSpec, PILOT_TOPOLOGY } from "./lab/topology.ts";

const USAGE = `Usage: npx tsx scripts/lab.ts <command>
  up [--topology pilot|internet] [--hosts SPEC | --bench N] [--run-id ID]
                                                 bring a lab up (default: hub, relay, uplink-1..3, client-1); it stays up.
                                                 internet (default): one simulated internet and a management network;
                                                 pilot: kitchen LAN, radio backhaul, homes, no management network (run
                                                 the runner with \`ip netns exec <kitchen laptop netns> npx tsx ...\`)
  down [RUN_ID] [--all]                          remove one lab; without RUN_ID every lab whose creator has exited
                                                 (--all: also labs a running test still uses)
  status                                         list labs and their hosts
  ssh HOST [RUN_ID]                              print the ssh command for a lab host (default: the newest lab)
${HOSTS_SPEC_HELP}`;

interface SavedHost {
  name: string;
  kind: string;
  group: string;
  /** Internet topology only. */
  mgmtAddress?: string;
  site?: string;
  netns: string;
  wanAddress: string;
  publicAddress: string;
  lanAddress?: string;
}

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const positional = args.filter(
  (a, i) =>
    !a.startsWith("--") &&
    !args[i - 1]?.startsWith("--hosts") &&
    !["--bench", "--run-id", "--topology"].includes(args[i - 1] ?? ""),
);
const savedHosts = (runId: string): SavedHost[] => {
  const file = join(LAB_DIR, runId, "hosts.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as SavedHost[]) : [];
};
const sshOptions = (runId: string) =>
  `-i ${join(LAB_DIR, runId, "id_ed25519")} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`;
/** Internet topology: over the management network. Pilot: from the host's own namespace (no network reaches them all). */
const sshCommand = (runId: string, h: SavedHost) =>
  h.mgmtAddress
    ? `ssh ${sshOptions(runId)} root@${h.mgmtAddress}`
    : `ip netns exec ${h.netns} ssh ${sshOptions(runId)} root@127.0.0.1`;

try {
  switch (positional[0] ?? "help") {
    case "up": {
      const bench = flag("--bench");
      const spec = flag("--hosts");
      const topology = flag("--topology") ?? "internet";
      if (topology !== "internet" && topology !== "pilot")
        throw new UserError(`--topology must be pilot or internet, got ${JSON.stringify(topology)}`);
      const hosts = spec
        ? parseHostsSpec(spec)
        : bench
          ? benchTopology(Number(bench))
          : topology === "pilot"
            ? PILOT_TOPOLOGY
            : DEFAULT_TOPOLOGY;
      const started = Date.now();
      let lab: InternetLab | PilotLab;
      if (topology === "pilot") {
        lab = await labUp({ hosts, runId: flag("--run-id"), topology: "pilot" });
        console.log(
          `lab ${lab.runId} (pilot) up in ${Date.now() - started} ms: ${lab.hosts.length} hosts, no management network`,
        );
        for (const h of lab.hosts)
          console.log(
            `  ${h.name.padEnd(12)} ${h.kind.padEnd(8)} ${h.site.padEnd(8)} ${h.meshIp ? `mesh ${h.meshIp}, ` : ""}wan ${h.wanAddress}${h.radioAddress ? `, radio ${h.radioAddress}` : ""}${h.routerLanAddress ? `, br-lan ${h.routerLanAddress}` : ""}`,
          );
        const k = lab.laptop("kitchen");
        console.log(
          `kitchen laptop: ${k.netns} at ${k.address} (ip netns exec ${k.netns} npx tsx tasks/... -i ${lab.inventoryPath}); installer laptop: ${lab.installer.netns}`,
        );
      } else {
        const internet = (lab = await labUp({ hosts, runId: flag("--run-id") }));
        console.log(
          `lab ${internet.runId} up in ${Date.now() - started} ms: ${internet.hosts.length} hosts (management 198.18.${internet.slot}.0/24)`,
        );
        for (const h of internet.hosts)
          console.log(
            `  ${h.name.padEnd(12)} ${h.kind.padEnd(8)} ${h.mgmtAddress.padEnd(14)} wan ${h.wanAddress}, public ${h.publicAddress}${h.lanAddress ? `, lan device ${h.lanAddress}` : ""}`,
          );
      }
      console.log(
        `inventory: ${lab.inventoryPath}\nlog in:    npx tsx scripts/lab.ts ssh ${lab.hosts[0].name} ${lab.runId}\nremove:    npx tsx scripts/lab.ts down ${lab.runId}`,
      );
      break;
    }
    case "down":
      await labDown(positional[1], { all: args.includes("--all") });
      console.log(positional[1] ? `lab ${positional[1]} removed` : "labs left behind removed");
      break;
    case "status": {
      const runs = labRunIds();
      if (!runs.length) console.log("no lab is up");
      for (const r of runs) {
        const state = readState(r);
        const owner = state && ownerAlive(state) ? `in use by PID ${state.owner.pid}` : "left behind (down removes it)";
        const hosts = savedHosts(r);
        const pilot = hosts.some((h) => !h.mgmtAddress);
        console.log(
          `${r}: ${pilot ? "pilot, no management network" : `management 198.18.${state?.slot ?? "?"}.0/24`}, ${owner}`,
        );
        for (const h of hosts)
          console.log(
            `  ${h.name.padEnd(12)} ${h.kind.padEnd(8)} ${h.group.padEnd(8)} ${(h.mgmtAddress ?? h.site ?? "").padEnd(14)} public ${h.publicAddress}`,
          );
      }
      break;
    }
    case "ssh": {
      const [, name, runArg] = positional;
      const runId =
        runArg ??
        labRunIds()
          .sort((a, b) => statSync(join(LAB_DIR, a)).mtimeMs - statSync(join(LAB_DIR, b)).mtimeMs)
          .at(-1);
      const host = runId ? savedHosts(runId).find((h) => h.name === name) : undefined;
      if (!name || !runId || !host)
        throw new Error(
          `no lab host ${JSON.stringify(name ?? "")}${runId ? ` in lab ${runId}` : ""}: see \`npx tsx scripts/lab.ts status\``,
        );
      console.log(sshCommand(runId, host));
      break;
    }
    default:
      console.log(USAGE);
      process.exitCode = positional[0] === "help" || positional[0] === undefined ? 0 : 1;
  }
} catch (err) {
  console.error(`lab: ${(err as Error).message}`);
  process.exitCode = 1;
}
