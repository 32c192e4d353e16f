/**
 * QUIC variable-length integers (RFC 9000 §16): the two top bits of the first byte give the
 * length (1, 2, 4 or 8 bytes). Values are limited to Number.MAX_SAFE_INTEGER; larger encodings
 * decode as invalid.
 */

export function varintSize(v: number): number {
  return v < 0x40 ? 1 : v < 0x4000 ? 2 : v < 0x40000000 ? 4 : 8;
}

/** Writes `v` (0 ≤ v ≤ 2^53-1) at `pos`; returns the position after it. */
export function writeVarint(buf: Buffer, pos: number, v: number): number {
  if (v < 0x40) {
    buf[pos] = v;
    return pos + 1;
  }
  if (v < 0x4000) {
    buf[pos] = 0x40 | (v >>> 8);
    buf[pos + 1] = v & 0xff;
    return pos + 2;
  }
  if (v < 0x40000000) {
    buf.writeUInt32BE(0x80000000 + v, pos);
    return pos + 4;
  }
  const hi = Math.floor(v / 0x100000000);
  buf.writeUInt32BE(0xc0000000 + hi, pos);
  buf.writeUInt32BE(v >>> 0, pos + 4);
  return pos + 8;
}

/**
 * A read cursor over a packet. Reads past the end or out-of-range values set `ok = false`
 * and return 0, so decoders check `ok` once per frame instead of after every field.
 */
export class Reader {
  pos: number;
  ok = true;
  constructor(
    readonly buf: Buffer,
    start = 0,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  u8(): number {
    if (this.pos >= this.buf.length) return this.fail();
    return this.buf[this.pos++];
  }

  varint(): number {
    const buf = this.buf;
    const pos = this.pos;
    if (pos >= buf.length) return this.fail();
    const first = buf[pos];
    const kind = first >>> 6;
    if (kind === 0) {
      this.pos = pos + 1;
      return first;
    }
    if (kind === 1) {
      if (pos + 2 > buf.length) return this.fail();
      this.pos = pos + 2;
      return ((first & 0x3f) << 8) | buf[pos + 1];
    }
    if (kind === 2) {
      if (pos + 4 > buf.length) return this.fail();
      this.pos = pos + 4;
      return buf.readUInt32BE(pos) & 0x3fffffff;
    }
    if (pos + 8 > buf.length) return this.fail();
    const hi = buf.readUInt32BE(pos) & 0x3fffffff;
    if (hi >= 0x200000) return this.fail(); // would exceed 2^53
    this.pos = pos + 8;
    return hi * 0x100000000 + buf.readUInt32BE(pos + 4);
  }

  bytes(n: number): Buffer {
    if (n < 0 || this.pos + n > this.buf.length) {
      this.fail();
      return EMPTY;
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  private fail(): number {
    this.ok = false;
    this.pos = this.buf.length;
    return 0;
  }
}

const EMPTY = Buffer.alloc(0);
