// What the radio-port role writes, from a host's radio vars (enrollment writes them: tasks/enroll/radio.ts).
import { UserError } from "../../lib/errors.ts";
import type { Host } from "../../lib/inventory/types.ts";
import { ipToUint, isIpv4, maskOfBits, parseCidr, uintToIp } from "../../lib/pki/cidr.ts";

export interface RadioPort {
  interface: string;
  device: string;
  address: string;
  netmask: string;
  /** "10.44.0.2/24", as `ip -4 addr` shows it once netifd applied it. */
  cidr: string;
}

/** The UCI interface of a host with a radio_device, or null for a host without one. Bad vars are the user's mistake. */
export function radioPortOf(host: Host, vars: Record<string, unknown>): RadioPort | null {
  const device = vars.radio_device;
  if (device === undefined || device === null || device === "") return null;
  const where = `${host.name} (${host.source})`;
  if (typeof device !== "string" || !/^[A-Za-z0-9_.@-]{1,15}$/.test(device))
    throw new UserError(
      `${where}: radio_device must be a network device name such as radio0 or lan4, got ${JSON.stringify(device)}`,
    );
  const address = vars.radio_address;
  const subnet = vars.radio_subnet;
  if (typeof address !== "string" || !isIpv4(address))
    throw new UserError(
      `${where}: radio_device ${device} needs radio_address, the router's IPv4 address on the radio (enrollment writes it), got ${JSON.stringify(address)}`,
    );
  if (typeof subnet !== "string")
    throw new UserError(
      `${where}: radio_device ${device} needs radio_subnet, the hub's radio subnet such as 10.44.0.0/24, got ${JSON.stringify(subnet)}`,
    );
  const net = parseCidr(subnet, `${where}: radio_subnet`);
  if ((ipToUint(address) & net.mask) >>> 0 !== (net.ip & net.mask) >>> 0)
    throw new UserError(`${where}: radio_address ${address} is not in radio_subnet ${subnet}`);
  const name = vars.radio_interface;
  if (typeof name !== "string" || !/^[A-Za-z0-9_]{1,15}$/.test(name))
    throw new UserError(
      `${where}: radio_interface must be a UCI interface name (letters, digits, _; at most 15), got ${JSON.stringify(name)}`,
    );
  return { interface: name, device, address, netmask: uintToIp(maskOfBits(net.bits)), cidr: `${address}/${net.bits}` };
}
