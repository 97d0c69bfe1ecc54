// scripts/test-shaping's measurement end to end without a lab: real iperf3 and real tc in a network namespace of this
// test's own (only its loopback), where lo carries the shaping role's layout (HTB root 1:, class 1:10 at the cap, the
// ingress redirected to an IFB capped the same). The path is measured with the cap lifted for the test's port, then
// under the cap; afterwards no iperf3 of the test runs and no lifted class is left.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { raw } from "../../lib/command.ts";
import { LocalTransport } from "../../lib/transport/local.ts";
import { measureUplink } from "../../scripts/shaping/uplink.ts";
import { Cleanups } from "../../scripts/test-common/cleanup.ts";
import { waitFor } from "../helpers/poll.ts";

const CAP = 20e6;
let holder: ChildProcess;
let ns: LocalTransport;

beforeAll(async () => {
  // A process holding a network namespace of its own; every command of the test enters it.
  holder = spawn("unshare", ["--net", "sleep", "600"], { stdio: "ignore" });
  // Only once it has its own namespace (unshare execs sleep after making it): never a command in this machine's.
  const mine = readlinkSync("/proc/self/ns/net");
  await waitFor("the namespace of the test's own", () => {
    try {
      return (
        readFileSync(`/proc/${holder.pid}/comm`, "utf8").trim() === "sleep" &&
        readlinkSync(`/proc/${holder.pid}/ns/net`) !== mine
      );
    } catch {
      return false;
    }
  });
  ns = new LocalTransport({ argv: ["nsenter", `--net=/proc/${holder.pid}/ns/net`, "/bin/sh"], target: "netns" });
  const rate = `${CAP}bit`;
  const setup = await ns.run(
    raw(
      [
        // Nebula's MTU: loopback's 64 KiB packets let HTB overshoot a 20 Mbit/s cap by a packet (measured 20.0005).
        "ip link set lo mtu 1300 up",
        "ip link add ifbt type ifb && ip link set ifbt up",
        ...["lo", "ifbt"].flatMap((dev) => [
          `tc qdisc replace dev ${dev} root handle 1: htb default 10`,
          `tc class replace dev ${dev} parent 1: classid 1:10 htb rate ${rate} ceil ${rate}`,
          `tc qdisc replace dev ${dev} parent 1:10 handle 10: pfifo limit 100`,
        ]),
        "tc qdisc replace dev lo handle ffff: ingress",
        "tc filter replace dev lo parent ffff: protocol all prio 1 handle 800::800 u32 match u32 0 0 action mirred egress redirect dev ifbt",
      ].join(" && "),
    ),
  );
  expect(setup.code, setup.stderr).toBe(0);
}, 30_000);
afterAll(() => {
  holder?.kill();
});

describe("scripts/test-shaping's measurement, in a namespace of its own", () => {
  it("measures the path with the cap lifted, then under the cap, judges both directions, leaves nothing behind", async () => {
    const lines: string[] = [];
    const cleanups = new Cleanups();
    const result = await measureUplink({
      name: "lo",
      hub: ns,
      uplink: ns,
      hubAddress: "127.0.0.1",
      devices: { mesh: "lo", ifb: "ifbt" },
      caps: { up: CAP, down: CAP },
      options: { seconds: 2, omit: 1 },
      attempts: 2,
      cleanups,
      log: (line) => lines.push(line),
    });
    const detail = `${JSON.stringify(result, null, 1)}\n${lines.join("\n")}`;
    for (const d of ["up", "down"] as const) {
      const v = result[d]!;
      // Loopback without the cap carries far more than 20 Mbit/s: the lifted class did take the measurement.
      expect(v.pathBit, detail).toBeGreaterThan(5 * CAP);
      expect(v.outcome, detail).toBe("PASS");
      expect(v.measuredBit, detail).toBeLessThanOrEqual(CAP);
    }
    expect(
      lines.some((l) => /^lo up: the path with the cap lifted, up \(hub -> uplink, -R\), 3 s \.\.\.$/.test(l)),
    ).toBe(true);
    expect(cleanups.pending()).toEqual([]);
    const left = await ns.run(raw("tc class show dev lo; tc class show dev ifbt; tc filter show dev lo parent 1:"));
    expect(left.stdout).not.toContain("1:99");
    expect(left.stdout).toContain("1:10");
    const iperf = spawnSync("sh", ["-c", "ps ax -o args | grep '^iperf3 .*-B 127.0.0.1' || true"], {
      encoding: "utf8",
    });
    expect(iperf.stdout.trim()).toBe("");
  }, 120_000);
});
