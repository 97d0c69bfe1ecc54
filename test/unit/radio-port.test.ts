// The radio-port role's plan: the UCI interface read with `uci show`, written whole when it differs, nothing when it
// is as wanted; netifd reloaded and the address waited for; bad radio vars named with the host.
import { describe, expect, it } from "vitest";
import type { Host } from "../../lib/inventory/types.ts";
import { parseUciShow, uciSection, uciSectionFact } from "../../lib/resources/uci.ts";
import { radioPortOf } from "../../roles/radio/settings.ts";
import { planOne } from "../helpers/plan.ts";

const SHOWN = `network.meshradio=interface
network.meshradio.device='radio0'
network.meshradio.proto='static'
network.meshradio.ipaddr='10.44.0.2'
network.meshradio.netmask='255.255.255.0'
`;
const WANT = {
  type: "interface",
  options: { device: "radio0", proto: "static", ipaddr: "10.44.0.2", netmask: "255.255.255.0" },
};
const planWith = (stdout: string, code = 0, want: Parameters<typeof uciSection>[0]["want"] = WANT) => {
  const r = uciSection({ config: "network", section: "meshradio", want, then: [] });
  return planOne(r, { [uciSectionFact("network", "meshradio").key]: [stdout, code] });
};

describe("a UCI section", () => {
  it("reads uci show: the type, options, lists, quotes", () => {
    expect(
      parseUciShow(
        `${SHOWN}network.meshradio.note='it'\\''s'\nnetwork.meshradio.dns='1.1.1.1' '9.9.9.9'\n`,
        "network",
        "meshradio",
      ),
    ).toEqual({
      type: "interface",
      options: {
        device: "radio0",
        proto: "static",
        ipaddr: "10.44.0.2",
        netmask: "255.255.255.0",
        note: "it's",
        dns: ["1.1.1.1", "9.9.9.9"],
      },
    });
  });

  it.each([
    [
      "missing: created, committed",
      "",
      1,
      [
        "uci set network.meshradio=interface",
        "uci set network.meshradio.device=radio0",
        "uci set network.meshradio.proto=static",
        "uci set network.meshradio.ipaddr=10.44.0.2",
        "uci set network.meshradio.netmask=255.255.255.0",
        "uci commit network",
      ],
      "create network.meshradio (interface: device radio0, proto static, ipaddr 10.44.0.2, netmask 255.255.255.0)",
    ],
    ["as wanted: nothing", SHOWN, 0, null, null],
    [
      "another address: written anew",
      SHOWN.replace("10.44.0.2", "10.44.0.9"),
      0,
      [
        "{ uci -q delete network.meshradio || true; }",
        "uci set network.meshradio=interface",
        "uci set network.meshradio.device=radio0",
        "uci set network.meshradio.proto=static",
        "uci set network.meshradio.ipaddr=10.44.0.2",
        "uci set network.meshradio.netmask=255.255.255.0",
        "uci commit network",
      ],
      "ipaddr 10.44.0.9 -> 10.44.0.2",
    ],
    ["an option too many: written anew", `${SHOWN}network.meshradio.gateway='10.44.0.1'\n`, 0, null, "remove gateway"],
  ])("%s", (_what, stdout, code, commands, summary) => {
    const plan = planWith(stdout, code);
    if (summary === null) expect(plan).toBeNull();
    else {
      expect(plan?.summary).toBe(summary);
      if (commands) expect(plan!.commands.map((c) => c.render())).toEqual(commands);
    }
  });

  it("absent: deleted when there, nothing when not", () => {
    expect(planWith(SHOWN, 0, { absent: true })!.commands.map((c) => c.render())).toEqual([
      "{ uci -q delete network.meshradio || true; }",
      "uci commit network",
    ]);
    expect(planWith("", 1, { absent: true })).toBeNull();
  });
});

const host = { name: "uplink-2", source: "hosts.yml:12" } as Host;
const vars = (v: Record<string, unknown>) => ({ radio_interface: "meshradio", ...v });

describe("the radio port from a host's vars", () => {
  it("device, address, the subnet's netmask", () => {
    expect(
      radioPortOf(host, vars({ radio_device: "radio0", radio_address: "10.44.0.2", radio_subnet: "10.44.0.0/24" })),
    ).toEqual({
      interface: "meshradio",
      device: "radio0",
      address: "10.44.0.2",
      netmask: "255.255.255.0",
      cidr: "10.44.0.2/24",
    });
    expect(radioPortOf(host, vars({}))).toBeNull();
  });

  it.each([
    [
      "no address",
      { radio_device: "radio0", radio_subnet: "10.44.0.0/24" },
      /uplink-2 \(hosts.yml:12\): radio_device radio0 needs radio_address/,
    ],
    [
      "an address outside the subnet",
      { radio_device: "radio0", radio_address: "10.45.0.2", radio_subnet: "10.44.0.0/24" },
      /radio_address 10.45.0.2 is not in radio_subnet 10.44.0.0\/24/,
    ],
    ["no subnet", { radio_device: "radio0", radio_address: "10.44.0.2" }, /needs radio_subnet/],
    [
      "a device name with a space",
      { radio_device: "radio 0", radio_address: "10.44.0.2", radio_subnet: "10.44.0.0/24" },
      /radio_device must be a network device name/,
    ],
  ])("refuses %s", (_what, v, message) => {
    expect(() => radioPortOf(host, vars(v))).toThrow(message);
  });
});
