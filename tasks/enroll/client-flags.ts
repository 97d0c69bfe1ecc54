// The client enrollment's flags and answers, checked before any host is contacted: each refusal names the flag.
import { UserError } from "../../lib/errors.ts";
import { isIpv4 } from "../../lib/pki/cidr.ts";
import { isNodeName } from "../../lib/transport/known-hosts.ts";

const HELP_HINT = "run npx tsx tasks/enroll-client.ts --help";

/** An IPv4 address or a host name (the machine's name on its home LAN, e.g. from the member's router). */
export function checkAddress(text: string, flag = "address"): string {
  const t = text.trim();
  const looksNumeric = /^[\d.]+$/.test(t);
  if (looksNumeric ? !isIpv4(t) : !/^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$/.test(t))
    throw new UserError(
      `--${flag} must be the machine's address on its LAN (an IPv4 address such as 192.168.1.23, or its name), not ${JSON.stringify(text)}`,
      HELP_HINT,
    );
  return t;
}

export function checkPort(text: string, flag = "port"): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < 1 || n > 65535)
    throw new UserError(
      `--${flag} must be a TCP port from 1 to 65535 (the machine's SSH port), not ${JSON.stringify(text)}`,
      HELP_HINT,
    );
  return n;
}

/** A node name as the inventory and known_hosts take it; uplink-N and the hub's names belong to other groups. */
export function checkName(text: string, flag = "name"): string {
  if (!isNodeName(text))
    throw new UserError(
      `--${flag} must be a node name (lower-case letters, digits and '-', at most 63, e.g. client-3), not ${JSON.stringify(text)}`,
      HELP_HINT,
    );
  return text;
}

export function checkText(text: string, flag: string, what: string): string {
  const t = text.trim();
  if (!t) throw new UserError(`--${flag} must give ${what}, not an empty text`, HELP_HINT);
  if (/[\u0000-\u001f]/.test(t))
    throw new UserError(`--${flag} (${what}) cannot contain line breaks or control characters`, HELP_HINT);
  return t;
}

/** Every flag given on the command line, checked at once, before anything is asked or contacted. */
export function checkClientFlags(values: {
  address?: string;
  port?: string;
  name?: string;
  member?: string;
  contact?: string;
  location?: string;
}): void {
  if (values.address !== undefined) checkAddress(values.address);
  if (values.port !== undefined) checkPort(values.port);
  if (values.name !== undefined) checkName(values.name);
  if (values.member !== undefined) checkText(values.member, "member", "the member's name");
  if (values.contact !== undefined) checkText(values.contact, "contact", "the member's phone or e-mail");
  if (values.location !== undefined) checkText(values.location, "location", "where the machine is");
}
