// Whether a router is on the hub's radio backhaul: an interface with an address in the hub's radio subnet (the port the
// installer wired to the home's NanoStation). Then the nebula role has the router dial the hub's radio address, so the
// tunnel rides the radio and the community's bytes cross the volunteer's line once; without it the tunnel goes over
// the internet (through the relay when the hub has no public address).
import { cidrWithin, isIpv4 } from "../../lib/pki/cidr.ts";

export interface RouterAddress {
  device: string;
  /** "10.44.0.12/24", as `ip -4 addr show` prints it. */
  cidr: string;
}

export interface RadioVars {
  radio_address: string;
  radio_subnet: string;
  radio_device: string;
}

/** `ip -4 addr show` (BusyBox's or iproute2's): each "inet A/B ... DEV" line, the device being the line's last word. */
export function parseAddresses(text: string): RouterAddress[] {
  return text.split("\n").flatMap((line) => {
    const words = line.trim().split(/\s+/);
    if (words[0] !== "inet" || !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(words[1] ?? "")) return [];
    return [{ device: words[words.length - 1], cidr: words[1] }];
  });
}

/** The router's radio facts for the inventory, or null when no interface is on the hub's radio subnet (or it has none). */
export function radioVarsOf(addresses: readonly RouterAddress[], hubRadioSubnet: unknown): RadioVars | null {
  if (typeof hubRadioSubnet !== "string" || !hubRadioSubnet.includes("/")) return null;
  for (const a of addresses) {
    const ip = a.cidr.split("/")[0];
    if (isIpv4(ip) && cidrWithin(`${ip}/32`, hubRadioSubnet)) return { radio_address: ip, radio_subnet: hubRadioSubnet, radio_device: a.device };
  }
  return null;
}
