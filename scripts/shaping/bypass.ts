// The cap lifted for one measurement only: to know what the path itself carries, the test's own iperf3 port goes
// around the cap into a class of its own on both shaped devices, while everything else (the community's traffic, the
// capped measurement on another port) stays under the cap. Removed right after; also on Ctrl-C (Cleanups).
// The shaping role's HTB (lib/resources/tc-htb.ts): root 1:, default class 1:10; nothing of ours uses 1:99 or
// filter priority 49, and the role plans only its own root, class and leaf, so a converge meanwhile leaves these alone.
// On the tun device and on the IFB its ingress goes to, packets start at their IP header (no link layer): u32's
// "ip sport/dport" offsets hold. tc-full (what the role installs) has u32.
import { join, sh, type Command } from "../../lib/command.ts";
import type { Transport } from "../../lib/transport/types.ts";
import type { Cleanups } from "../test-common/cleanup.ts";

export interface ShapedDevices {
  /** The Nebula tun (egress: the volunteer's download). */
  mesh: string;
  /** The IFB its ingress is shaped on (the volunteer's upload). */
  ifb: string;
}

const CLASS = "1:99";
const PRIO = "49";
/**
 * Faster than any line a volunteer has: the class never limits. Burst and quantum given: the kernel's own for 10gbit
 * are a burst of 0 bytes and a quantum it warns about (measured on this kernel).
 */
const CLASS_ARGS = ["rate", "10gbit", "ceil", "10gbit", "burst", "1mb", "cburst", "1mb", "quantum", "200000"];

/** Commands putting TCP to or from `port` into an unlimited class on each device (data and ACKs, both directions). */
export function liftCommands(devices: ShapedDevices, port: number): Command[] {
  return [devices.mesh, devices.ifb].flatMap((dev) => [
    sh`tc class add dev ${dev} parent 1: classid ${CLASS} htb ${CLASS_ARGS}`,
    ...(["sport", "dport"] as const).map(
      (side) =>
        sh`tc filter add dev ${dev} parent 1: protocol ip prio ${PRIO} u32 match ip protocol 6 0xff match ip ${side} ${port} 0xffff flowid ${CLASS}`,
    ),
  ]);
}

/** Commands removing them again (each safe where it is already gone). */
export function restoreCommands(devices: ShapedDevices): Command[] {
  return [devices.mesh, devices.ifb].flatMap((dev) => [
    sh`tc filter del dev ${dev} parent 1: prio ${PRIO} 2>/dev/null`,
    sh`tc class del dev ${dev} classid ${CLASS} 2>/dev/null`,
  ]);
}

/** Bytes the lifted class has carried on each device, from `tc -s class show` (0 where it is not there). */
export function bypassBytes(tcOutput: string): number {
  let total = 0;
  for (const block of tcOutput.split(/\n(?=class )/)) {
    if (!new RegExp(`^class htb ${CLASS} `).test(block)) continue;
    total += Number(/Sent (\d+) bytes/.exec(block)?.[1] ?? 0);
  }
  return total;
}

/**
 * Lifts the cap for `port` on the uplink; resolves with the undo (already registered with `cleanups`) and a reader of
 * the bytes that went around the cap, so the test can tell that the lifted measurement really did.
 */
export async function liftCap(
  uplink: Transport,
  devices: ShapedDevices,
  port: number,
  cleanups: Cleanups,
): Promise<{ restore: () => Promise<void>; bytes: () => Promise<number> }> {
  const run = (commands: Command[], separator: string) => uplink.run(join(commands, separator));
  // A test stopped hard before its undo left the class behind: clear first (the role never makes these).
  await run(restoreCommands(devices), "; ");
  const restore = cleanups.add(`put the cap back on ${uplink.target} (${devices.mesh}, ${devices.ifb})`, async () => {
    await run(restoreCommands(devices), "; ");
  });
  const lifted = await run(liftCommands(devices, port), " && ");
  if (lifted.code !== 0) {
    await restore();
    const why = (lifted.stderr || lifted.stdout).trim().slice(0, 300);
    throw new Error(
      `could not lift the cap on ${uplink.target} for the measurement of the path (is the shaping role's HTB on ${devices.mesh} and ${devices.ifb}?): ${why}`,
    );
  }
  return {
    restore,
    bytes: async () =>
      bypassBytes(
        (await uplink.run(sh`tc -s class show dev ${devices.mesh}; tc -s class show dev ${devices.ifb}`)).stdout,
      ),
  };
}
