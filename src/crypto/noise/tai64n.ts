/**
 * TAI64N timestamps (12 bytes: big-endian TAI64 seconds, then big-endian nanoseconds), the INIT
 * payload the responder uses to refuse replayed INITs: it remembers the greatest timestamp per
 * peer and wants a strictly greater one. Big-endian makes byte order equal to time order, so
 * timestamps compare with Buffer.compare.
 */

/** TAI64 label of the Unix epoch: 2^62 plus the 10 s TAI-UTC offset of 1970. */
const TAI64_UNIX_EPOCH = 2n ** 62n + 10n;

export const TAI64N_LEN = 12;

export function tai64n(unixMs: number): Buffer {
  const ms = Math.max(0, Math.floor(unixMs));
  const out = Buffer.alloc(TAI64N_LEN);
  out.writeBigUInt64BE(TAI64_UNIX_EPOCH + BigInt(Math.floor(ms / 1000)));
  out.writeUInt32BE((ms % 1000) * 1_000_000, 8);
  return out;
}

export function compareTai64n(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b);
}

/**
 * Issues strictly increasing timestamps even when the wall clock stalls or steps back, so that
 * two INITs sent within the same millisecond (retransmission, simultaneous open) both count.
 */
export class Tai64nSource {
  private last: Buffer | undefined;

  next(unixMs: number): Buffer {
    let t = tai64n(unixMs);
    if (this.last && Buffer.compare(t, this.last) <= 0) t = tai64nAfter(this.last);
    this.last = t;
    return t;
  }
}

/** The timestamp one nanosecond after `t`. */
export function tai64nAfter(t: Buffer): Buffer {
  const out = Buffer.from(t);
  const nanos = out.readUInt32BE(8) + 1;
  if (nanos < 1_000_000_000) {
    out.writeUInt32BE(nanos, 8);
  } else {
    out.writeBigUInt64BE(out.readBigUInt64BE(0) + 1n);
    out.writeUInt32BE(0, 8);
  }
  return out;
}
