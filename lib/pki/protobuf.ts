// Just enough proto3 for Nebula's certificates: canonical encoding (fields in number order, defaults left out, packed uint32).

export type Field = { n: number; kind: "varint"; value: bigint } | { n: number; kind: "bytes"; value: Buffer };

function varint(value: bigint): Buffer {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
}

const key = (n: number, wire: number) => varint(BigInt((n << 3) | wire));

export class Writer {
  #parts: Buffer[] = [];
  /** Writes a varint field unless it is the default (0 / false). */
  varint(n: number, value: bigint | number | boolean): this {
    const v = typeof value === "boolean" ? (value ? 1n : 0n) : BigInt(value);
    if (v !== 0n) this.#parts.push(key(n, 0), varint(v));
    return this;
  }
  /** Writes a length-delimited field unless it is empty. */
  bytes(n: number, value: Buffer | string): this {
    const b = typeof value === "string" ? Buffer.from(value, "utf8") : value;
    if (b.length) this.#parts.push(key(n, 2), varint(BigInt(b.length)), b);
    return this;
  }
  /** A repeated string: one field per element (empty strings too, as Go's marshaller does). */
  strings(n: number, values: readonly string[]): this {
    for (const s of values) {
      const b = Buffer.from(s, "utf8");
      this.#parts.push(key(n, 2), varint(BigInt(b.length)), b);
    }
    return this;
  }
  /** A packed repeated uint32. */
  packedUint32(n: number, values: readonly number[]): this {
    if (values.length) this.bytes(n, Buffer.concat(values.map((v) => varint(BigInt(v >>> 0)))));
    return this;
  }
  finish(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

export function readFields(buf: Buffer): Field[] {
  const fields: Field[] = [];
  let at = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (at >= buf.length) throw new Error("truncated varint");
      const byte = buf[at++];
      result |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return result;
      shift += 7n;
      if (shift > 70n) throw new Error("varint too long");
    }
  };
  while (at < buf.length) {
    const k = Number(readVarint());
    const n = k >> 3;
    const wire = k & 7;
    if (wire === 0) fields.push({ n, kind: "varint", value: readVarint() });
    else if (wire === 2) {
      const len = Number(readVarint());
      if (at + len > buf.length) throw new Error("truncated field");
      fields.push({ n, kind: "bytes", value: buf.subarray(at, at + len) });
      at += len;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return fields;
}

export function unpackUint32(buf: Buffer): number[] {
  const out: number[] = [];
  let at = 0;
  while (at < buf.length) {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = buf[at++];
      result += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) break;
      shift += 7;
    }
    out.push(result >>> 0);
  }
  return out;
}
