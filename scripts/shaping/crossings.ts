// How many times the mesh's traffic through an uplink crosses the volunteer's home line: the bytes on the router's WAN
// (its cable to the volunteer's router, the line's only way in or out) over the bytes the download itself carried.
// With the tunnel on the radio, once (the trip to and from the internet); with the tunnel on the same line, twice.

/** A device's byte counters (/sys/class/net/<dev>/statistics). */
export interface ByteCounters {
  rx: number;
  tx: number;
}

/** A shell command (BusyBox's cat is enough) printing each device's rx_bytes then tx_bytes, one number a line. */
export function countersCommand(devices: string[]): string {
  return `cat ${devices.map((d) => `/sys/class/net/${d}/statistics/rx_bytes /sys/class/net/${d}/statistics/tx_bytes`).join(" ")}`;
}

/** countersCommand's output, in the order of `devices`. */
export function parseCounters(devices: string[], out: string): Record<string, ByteCounters> {
  const numbers = out.trim().split(/\s+/).map(Number);
  if (numbers.length !== devices.length * 2 || numbers.some((n) => !Number.isFinite(n)))
    throw new Error(`expected rx/tx bytes of ${devices.join(", ")}, got ${JSON.stringify(out)}`);
  return Object.fromEntries(devices.map((d, i) => [d, { rx: numbers[2 * i], tx: numbers[2 * i + 1] }]));
}

/**
 * What a device carried between two readings, over `payloadBytes` (the bytes the traffic itself delivered): rx and tx
 * apart (on a router's WAN: the line's download and upload) and both together (1 = each byte once, 2 = twice).
 */
export function crossings(p: { before: ByteCounters; after: ByteCounters; payloadBytes: number }): {
  rx: number;
  tx: number;
  both: number;
} {
  if (!(p.payloadBytes > 0)) throw new Error(`no payload to compare with (${p.payloadBytes} bytes)`);
  const rx = (p.after.rx - p.before.rx) / p.payloadBytes;
  const tx = (p.after.tx - p.before.tx) / p.payloadBytes;
  return { rx, tx, both: rx + tx };
}
