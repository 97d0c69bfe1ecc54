// IPv4 CIDRs as Nebula stores them: a (host address, mask) pair of big-endian uint32s, shown as "10.0.4.65/16".
import { UserError } from "../errors.ts";

export interface Cidr {
  ip: number;
  mask: number;
  bits: number;
}

/** A dotted IPv4 address, each part at most 255. */
export const isIpv4 = (text: string): boolean =>
  /^\d{1,3}(\.\d{1,3}){3}$/.test(text) && text.split(".").every((p) => Number(p) <= 255);

export const ipToUint = (ip: string): number => ip.split(".").reduce((n, p) => n * 256 + Number(p), 0) >>> 0;
export const uintToIp = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
export const maskOfBits = (bits: number): number => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);

/** The prefix length of a contiguous mask, or null (Nebula would print such a mask in hex; we refuse it). */
function bitsOfMask(mask: number): number | null {
  for (let bits = 0; bits <= 32; bits++) if (maskOfBits(bits) === mask >>> 0) return bits;
  return null;
}

/** "10.0.4.65/16" -> its parts; a clear error for anything else. */
export function parseCidr(cidr: string, what = "address"): Cidr {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
  if (!m || !isIpv4(m[1]) || Number(m[2]) > 32) {
    throw new UserError(`${what} "${cidr}" is not an IPv4 CIDR like 10.0.4.65/16`);
  }
  return { ip: ipToUint(m[1]), mask: maskOfBits(Number(m[2])), bits: Number(m[2]) };
}

/** Whether `inner` lies inside `outer` with a mask at least as long (Nebula's rule for a CA's ips and subnets). */
export function cidrWithin(inner: string, outer: string): boolean {
  const a = parseCidr(inner);
  const b = parseCidr(outer);
  return a.bits >= b.bits && (a.ip & b.mask) >>> 0 === (b.ip & b.mask) >>> 0;
}

/** CIDRs as the flat (address, mask, address, mask, ...) list of the wire format. */
export const cidrsToPairs = (cidrs: readonly string[], what: string): number[] =>
  cidrs.flatMap((c) => {
    const p = parseCidr(c, what);
    return [p.ip, p.mask];
  });

/** The flat wire list back to CIDRs; `what` names the field in errors. */
export function pairsToCidrs(values: readonly number[], what: string): string[] {
  if (values.length % 2 !== 0) throw new UserError(`${what}: addresses should come in (address, mask) pairs`);
  const out: string[] = [];
  for (let i = 0; i < values.length; i += 2) {
    const bits = bitsOfMask(values[i + 1]);
    if (bits === null) throw new UserError(`${what}: mask ${uintToIp(values[i + 1])} is not a prefix length`);
    out.push(`${uintToIp(values[i])}/${bits}`);
  }
  return out;
}
