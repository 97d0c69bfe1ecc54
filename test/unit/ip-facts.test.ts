// ip facts where ip has no JSON (OpenWrt's BusyBox ip before ip-full): absent, never a plan-time crash; with iproute2's ip: read.
import { describe, expect, it } from "vitest";
import {
  addressesFact,
  linksFact,
  mainRoutesFact,
  NO_JSON_IP,
  routesFact,
  rulesFact,
} from "../../roles/routing/ip-facts.ts";
import { gatherScript } from "../../lib/runner/script.ts";
import { shells } from "../openwrt-shell.ts";

const facts = [linksFact, addressesFact, rulesFact, routesFact, mainRoutesFact];

describe("ip facts", () => {
  const [busybox, dash] = shells();
  it("BusyBox ip (no -j): every fact reads as empty", () => {
    const { script, parse } = gatherScript(facts);
    const out = parse(busybox.run(script.render()).stdout);
    for (const f of facts) {
      expect(out.get(f.key)?.stdout.trim(), f.key).toBe(NO_JSON_IP);
      const value = f.parse(out.get(f.key)!) as Map<string, unknown> | unknown[];
      expect(value instanceof Map ? value.size : value.length, f.key).toBe(0);
    }
  });

  it("iproute2's ip: real state (loopback is there)", () => {
    const { script, parse } = gatherScript(facts);
    const out = parse(dash.run(script.render()).stdout);
    expect(linksFact.parse(out.get(linksFact.key)!).get("lo")).toMatchObject({ name: "lo", up: true });
    expect(addressesFact.parse(out.get(addressesFact.key)!).get("lo")).toContain("127.0.0.1/8");
  });

  it("ip that fails otherwise is still an error", () => {
    expect(() => linksFact.parse({ stdout: "", code: 255 })).toThrow(/iproute2/);
  });
});
