// Enrollment finds the router's port on the hub's radio from its addresses, as BusyBox's and iproute2's ip print them.
import { describe, expect, it } from "vitest";
import { parseAddresses, radioVarsOf } from "../../tasks/enroll/radio.ts";

const BUSYBOX = `1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000
    inet 127.0.0.1/8 scope host lo
4: br-lan: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue qlen 1000
    inet 192.168.8.1/24 brd 192.168.8.255 scope global br-lan
5: wan0@if6: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue qlen 1000
    inet 192.168.12.2/24 brd 192.168.12.255 scope global wan0
7: radio0@if8: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc htb qlen 1000
    inet 10.44.0.12/24 brd 10.44.0.255 scope global radio0`;

describe("the router's addresses", () => {
  it("reads each inet line's address and device (the line's last word)", () => {
    expect(parseAddresses(BUSYBOX)).toEqual([
      { device: "lo", cidr: "127.0.0.1/8" },
      { device: "br-lan", cidr: "192.168.8.1/24" },
      { device: "wan0", cidr: "192.168.12.2/24" },
      { device: "radio0", cidr: "10.44.0.12/24" },
    ]);
  });
});

describe("the router on the hub's radio", () => {
  const addresses = parseAddresses(BUSYBOX);
  it.each([
    ["a port in the hub's radio subnet", addresses, "10.44.0.0/24", { radio_address: "10.44.0.12", radio_subnet: "10.44.0.0/24", radio_device: "radio0" }],
    ["a hub with another radio subnet", addresses, "10.45.0.0/24", null],
    ["a hub with no radio (the internet topology)", addresses, undefined, null],
    ["a remote router (no port on the radio)", addresses.filter((a) => a.device !== "radio0"), "10.44.0.0/24", null],
    ["a hub var that is not a subnet", addresses, "radio", null],
  ])("%s", (_what, list, hubSubnet, expected) => {
    expect(radioVarsOf(list, hubSubnet)).toEqual(expected);
  });
});
