/**
 * Bounds-checked binary reader and a small writer for the wire codecs. A Reader never throws:
 * reading past the end marks it `bad`, and decoders return null when `ok` is false at the end.
 * That keeps every decoder total over arbitrary input, which the fuzz tests check.
 */
import { isIP } from "node:net";
import type { Endpoint } from "../util/addr.js";

export class Reader {
  private pos = 0;
  bad = false;

  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.bad ? 0 : this.buf.length - this.pos;
  }

  /** True when every read succeeded and (with `exact`) all input was consumed. */
  ok(exact = true): boolean {
    return !this.bad && (!exact || this.pos === this.buf.length);
  }

  private take(n: number): number {
    if (this.bad || n < 0 || this.pos + n > this.buf.length) {
      this.bad = true;
      return -1;
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(): number {
    const at = this.take(1);
    return at < 0 ? 0 : this.buf[at];
  }
  u16(): number {
    const at = this.take(2);
    return at < 0 ? 0 : this.buf.readUInt16BE(at);
  }
  u32(): number {
    const at = this.take(4);
    return at < 0 ? 0 : this.buf.readUInt32BE(at);
  }
  u64(): bigint {
    const at = this.take(8);
    return at < 0 ? 0n : this.buf.readBigUInt64BE(at);
  }
  bytes(n: number): Buffer {
    const at = this.take(n);
    return at < 0 ? Buffer.alloc(0) : this.buf.subarray(at, at + n);
  }
  /** A u8-length-prefixed UTF-8 string; invalid UTF-8 marks the reader bad. */
  str8(): string {
    const b = this.bytes(this.u8());
    const s = b.toString("utf8");
    if (Buffer.byteLength(s) !== b.length) this.bad = true;
    return s;
  }
  rest(): Buffer {
    const at = this.take(this.remaining);
    return at < 0 ? Buffer.alloc(0) : this.buf.subarray(at);
  }
  /** An endpoint: [family u8: 4|6][addr 4|16][port u16]. */
  endpoint(): Endpoint {
    const fam = this.u8();
    if (fam !== 4 && fam !== 6) {
      this.bad = true;
      return { host: "0.0.0.0", port: 0 };
    }
    const raw = this.bytes(fam === 4 ? 4 : 16);
    const port = this.u16();
    if (this.bad) return { host: "0.0.0.0", port: 0 };
    return { host: fam === 4 ? [...raw].join(".") : formatV6(raw), port };
  }
}

/** RFC 5952 text form; an IPv4-mapped address comes out as plain IPv4, as sockets report it. */
function formatV6(raw: Buffer): string {
  if (raw.subarray(0, 10).every((b) => b === 0) && raw[10] === 0xff && raw[11] === 0xff)
    return [...raw.subarray(12)].join(".");
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(raw.readUInt16BE(i));
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestAt < 0) return hex.join(":");
  return `${hex.slice(0, bestAt).join(":")}::${hex.slice(bestAt + bestLen).join(":")}`;
}

export class Writer {
  private readonly parts: Buffer[] = [];
  private size = 0;

  private push(b: Buffer): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }
  u8(v: number): this {
    return this.push(Buffer.of(v & 0xff));
  }
  u16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    return this.push(b);
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    return this.push(b);
  }
  u64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(v);
    return this.push(b);
  }
  bytes(b: Uint8Array): this {
    return this.push(Buffer.from(b));
  }
  /** Throws for strings over 255 bytes: a programming error, callers validate lengths first. */
  str8(s: string): this {
    const b = Buffer.from(s, "utf8");
    if (b.length > 255) throw new RangeError("string longer than 255 bytes");
    return this.u8(b.length).push(b);
  }
  endpoint(e: Endpoint): this {
    const fam = isIP(e.host);
    if (fam === 4)
      return this.u8(4)
        .push(Buffer.from(e.host.split(".").map(Number)))
        .u16(e.port);
    if (fam === 6) return this.u8(6).push(ipv6Bytes(e.host)).u16(e.port);
    throw new RangeError(`not an IP address: ${e.host}`);
  }
  finish(): Buffer {
    return Buffer.concat(this.parts, this.size);
  }
}

function ipv6Bytes(ip: string): Buffer {
  const out = Buffer.alloc(16);
  let text = ip;
  const v4 = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (v4) {
    const [a, b, c, d] = v4[1].split(".").map(Number);
    text = `${text.slice(0, -v4[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split("::");
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  for (let i = 0; i < groups.length; i++) out.writeUInt16BE(Number.parseInt(groups[i], 16) || 0, i * 2);
  return out;
}
