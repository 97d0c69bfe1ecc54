// A person's laptop in the pilot lab: a network namespace where commands run and TCP connections start (dial), and the
// installer's cable: plugged into one router's br-lan at a time.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import type { Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { bash, inNetns } from "../shell.ts";
import type { LabLaptop, PilotInstaller } from "../types.ts";
import { plugScript, unplugScript } from "./network.ts";
import { hasHomeLan, homeLanLaptop, plugHomeLanScript } from "./home-lan.ts";
import { installerAddress, ROUTER_LAN, type PilotHostPlan } from "./plan.ts";

const CONNECTOR = join(dirname(fileURLToPath(import.meta.url)), "connector.mjs");
const DEFAULT_DIAL_TIMEOUT_MS = 10_000;

/**
 * A TCP connection made inside `netns` by a connector process (connector.mjs) and handed over as a real socket. The
 * connector is killed by its PID if it neither connects nor fails in time (plus a margin for its start on a loaded
 * machine); it exits by itself once the socket is handed over.
 */
export function dialIn(
  netns: string,
  host: string,
  port: number,
  timeoutMs = DEFAULT_DIAL_TIMEOUT_MS,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "ip",
      ["netns", "exec", netns, process.execPath, CONNECTOR, host, String(port), String(timeoutMs)],
      { stdio: ["ignore", "ignore", "pipe", "ipc"] },
    );
    let stderr = "";
    let settled = false;
    const settle = (err: Error | undefined, socket?: Socket) => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      if (err) {
        socket?.destroy();
        reject(err);
      } else resolve(socket!);
    };
    const where = `from ${netns} to ${host}:${port}`;
    // The connector's own timer fires first; this one only catches a connector that hangs or never starts.
    const guard = setTimeout(() => {
      if (child.pid) process.kill(child.pid, "SIGKILL");
      settle(new Error(`lab dial ${where}: the connector gave no answer within ${timeoutMs + 20_000} ms (killed)`));
    }, timeoutMs + 20_000);
    child.stderr!.on("data", (d) => (stderr += d));
    child.on(
      "message",
      (message: { connected?: boolean; error?: string; code?: string; timedOut?: boolean }, handle?: unknown) => {
        if (message.connected && handle) settle(undefined, handle as Socket);
        else
          settle(
            Object.assign(new Error(`lab dial ${where}: ${message.error ?? "the connector sent no socket"}`), {
              code: message.code,
              timedOut: message.timedOut,
            }),
          );
      },
    );
    child.on("error", (err) => settle(new Error(`lab dial ${where}: could not start the connector: ${err.message}`)));
    // "close", not "exit": the handed-over socket's message can still be on its way when "exit" fires (seen on a loaded
    // machine: a connected dial reported as failed); "close" comes after the IPC channel and stderr are done.
    child.on("close", (code) =>
      settle(
        new Error(
          `lab dial ${where}: the connector exited (code ${code}) without a connection${stderr ? `:\n${stderr.trim()}` : ""}`,
        ),
      ),
    );
  });
}

export function laptop(netns: string, address: string): LabLaptop {
  return {
    netns,
    address,
    exec: (cmd: string) => inNetns(netns, cmd),
    dial: (host: string, port: number, options: { timeoutMs?: number } = {}) =>
      dialIn(netns, host, port, options.timeoutMs),
  };
}

/**
 * An installer's laptop: plugged into at most one router's LAN at a time. Installer k (0-based) has a LAN port and an
 * address of its own (lan1 and 192.168.8.100 for the first), so two laptops never clash, even on one router.
 */
export function installer(netns: string, routerOf: (name: string) => PilotHostPlan, k = 0): PilotInstaller {
  let plugged: string | undefined;
  /** Its address on a home's LAN while plugged in there (a member's machine), else undefined (a router's br-lan). */
  let homeAddress: string | undefined;
  const base = laptop(netns, "");
  const unplug = async () => {
    await bash(unplugScript(netns));
    plugged = undefined;
  };
  return {
    netns,
    get address() {
      return plugged ? (homeAddress ?? installerAddress(k)) : "";
    },
    exec: base.exec,
    dial: base.dial,
    get pluggedInto() {
      return plugged;
    },
    unplug,
    async plugInto(hostName: string) {
      const router = routerOf(hostName);
      // A member's machine (no br-lan of its own) is reached on its home's LAN: the laptop joins that one.
      const home = !router.pilot.routerLan && hasHomeLan(router);
      if (!router.pilot.routerLan && !home)
        throw new Error(
          `lab host ${hostName} has no LAN to plug into (only "openwrt" hosts at a home or remote site have br-lan ${ROUTER_LAN.subnet}; other hosts there, their home's LAN)`,
        );
      if (plugged) await unplug();
      await bash(home ? plugHomeLanScript(router, netns, k) : plugScript(router, netns, k));
      plugged = hostName;
      homeAddress = home ? homeLanLaptop(router, k).address : undefined;
    },
  };
}
