import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ackFrameSize,
  closeFrameSize,
  decodePacket,
  encodeCloseReason,
  FrameType,
  maxDataFrameSize,
  streamFrameSize,
  writeAckFrame,
  writeCloseFrame,
  writeMaxDataFrame,
  writeStreamFrame,
  writeStreamToEndHeader,
} from "../../src/tunnel/reliable/packet.js";
import { RangeSet } from "../../src/tunnel/reliable/range-set.js";
import { Reader, varintSize, writeVarint } from "../../src/tunnel/reliable/varint.js";

describe("varint", () => {
  it("round-trips every size class, including the 2^53 edge", () => {
    for (const v of [0, 63, 64, 16383, 16384, 2 ** 30 - 1, 2 ** 30, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
      const buf = Buffer.alloc(8);
      const end = writeVarint(buf, 0, v);
      expect(end).toBe(varintSize(v));
      const r = new Reader(buf.subarray(0, end));
      expect(r.varint()).toBe(v);
      expect(r.ok).toBe(true);
    }
  });

  it("round-trips random safe integers", () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (v) => {
        const buf = Buffer.alloc(8);
        const end = writeVarint(buf, 0, v);
        const r = new Reader(buf.subarray(0, end));
        return r.varint() === v && r.ok && r.remaining === 0;
      }),
    );
  });

  it("rejects 8-byte values above 2^53 and truncated encodings", () => {
    const big = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const r = new Reader(big);
    r.varint();
    expect(r.ok).toBe(false);
    const t = new Reader(Buffer.from([0x80, 0x01]));
    t.varint();
    expect(t.ok).toBe(false);
  });
});

/** Builds a packet from parts with the exported writers (the way the channel does). */
function buildPacket(parts: {
  pn: number;
  ackPns?: number[];
  delayUs?: number;
  maxData?: number;
  ping?: boolean;
  streams?: { offset: number; data: Buffer }[];
  tail?: { offset: number; data: Buffer };
  close?: string;
  padding?: number;
}): Buffer {
  const ranges = new RangeSet();
  for (const pn of parts.ackPns ?? []) ranges.add(pn, pn + 1);
  const delayUs = parts.delayUs ?? 0;
  const closeBytes = parts.close !== undefined ? encodeCloseReason(parts.close) : undefined;
  let size = varintSize(parts.pn);
  if (!ranges.isEmpty) size += ackFrameSize(ranges.r, delayUs, 1000);
  if (parts.maxData !== undefined) size += maxDataFrameSize(parts.maxData);
  if (parts.ping) size += 1;
  for (const s of parts.streams ?? []) size += streamFrameSize(s.offset, s.data.length);
  if (closeBytes) size += closeFrameSize(closeBytes);
  if (parts.tail) size += 1 + varintSize(parts.tail.offset) + parts.tail.data.length;
  size += parts.padding ?? 0;
  const buf = Buffer.alloc(size);
  let pos = writeVarint(buf, 0, parts.pn);
  if (!ranges.isEmpty) pos = writeAckFrame(buf, pos, ranges.r, delayUs, 1000);
  if (parts.maxData !== undefined) pos = writeMaxDataFrame(buf, pos, parts.maxData);
  if (parts.ping) buf[pos++] = FrameType.PING;
  for (const s of parts.streams ?? []) pos = writeStreamFrame(buf, pos, s.offset, s.data);
  if (closeBytes) pos = writeCloseFrame(buf, pos, closeBytes);
  if (parts.tail) {
    pos = writeStreamToEndHeader(buf, pos, parts.tail.offset);
    parts.tail.data.copy(buf, pos);
    pos += parts.tail.data.length;
  }
  expect(pos).toBe(size - (parts.padding ?? 0));
  return buf;
}

/** Expands decoded [high, low] pairs back into the set of acknowledged packet numbers. */
function ackedSet(ranges: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < ranges.length; i += 2) for (let pn = ranges[i + 1]; pn <= ranges[i]; pn++) out.push(pn);
  return out.sort((x, y) => x - y);
}

describe("packet codec", () => {
  it("round-trips every frame kind", () => {
    const data = Buffer.from("hello stream");
    const pkt = buildPacket({
      pn: 70000,
      ackPns: [1, 2, 3, 7, 9, 10, 200],
      delayUs: 1234,
      maxData: 5_000_000,
      ping: true,
      streams: [{ offset: 10, data }],
      close: "bye",
      tail: { offset: 22, data: Buffer.from("tail") },
    });
    const p = decodePacket(pkt);
    expect(p).not.toBeNull();
    if (!p) return;
    expect(p.pn).toBe(70000);
    expect(p.ack?.largest).toBe(200);
    expect(p.ack?.delayUs).toBe(1234);
    expect(ackedSet(p.ack?.ranges ?? [])).toEqual([1, 2, 3, 7, 9, 10, 200]);
    expect(p.maxData).toBe(5_000_000);
    expect(p.ping).toBe(true);
    expect(p.ackEliciting).toBe(true);
    expect(p.close).toBe("bye");
    expect(p.streams.map((s) => [s.offset, s.data.toString()])).toEqual([
      [10, "hello stream"],
      [22, "tail"],
    ]);
  });

  it("ACK-only and CLOSE-only packets are not ack-eliciting; padding is counted", () => {
    const ack = decodePacket(buildPacket({ pn: 1, ackPns: [0] }));
    expect(ack?.ackEliciting).toBe(false);
    const close = decodePacket(buildPacket({ pn: 2, close: "x" }));
    expect(close?.ackEliciting).toBe(false);
    const padded = Buffer.concat([buildPacket({ pn: 3, ping: true }), Buffer.alloc(100)]);
    expect(decodePacket(padded)?.paddingBytes).toBe(100);
  });

  it("round-trips random ACK sets, limited to the highest ranges", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat(5000), { minLength: 1, maxLength: 200 }),
        fc.nat(1e6),
        (pns, delay) => {
          const p = decodePacket(buildPacket({ pn: 9, ackPns: pns, delayUs: delay }));
          if (p?.ack == null) return false;
          return JSON.stringify(ackedSet(p.ack.ranges)) === JSON.stringify([...pns].sort((a, b) => a - b));
        },
      ),
    );
    // With a range limit only the highest ranges are encoded.
    const set = new RangeSet();
    for (let pn = 0; pn < 100; pn += 2) set.add(pn, pn + 1);
    const buf = Buffer.alloc(1 + ackFrameSize(set.r, 0, 4));
    writeAckFrame(buf, writeVarint(buf, 0, 0), set.r, 0, 4);
    expect(ackedSet(decodePacket(buf)?.ack?.ranges ?? [])).toEqual([92, 94, 96, 98]);
  });

  it("round-trips random stream frames", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ offset: fc.nat(2 ** 40), data: fc.uint8Array({ maxLength: 64 }) }), {
          maxLength: 5,
        }),
        fc.nat(2 ** 31),
        (frames, pn) => {
          const streams = frames.map((f) => ({ offset: f.offset, data: Buffer.from(f.data) }));
          const p = decodePacket(buildPacket({ pn, streams, ping: streams.length === 0 }));
          if (p === null) return false;
          return (
            p.pn === pn &&
            p.streams.length === streams.length &&
            p.streams.every((s, i) => s.offset === streams[i].offset && s.data.equals(streams[i].data))
          );
        },
      ),
    );
  });

  it("rejects malformed frames", () => {
    expect(decodePacket(Buffer.alloc(0))).toBeNull(); // empty
    expect(decodePacket(Buffer.from([0x05]))).toBeNull(); // packet number only
    expect(decodePacket(Buffer.from([0x01, 0x7f]))).toBeNull(); // unknown frame type
    // ACK whose first range goes below zero: largest 2, first range 5.
    expect(decodePacket(Buffer.from([0x01, FrameType.ACK, 2, 0, 0, 5]))).toBeNull();
    // ACK with an extra range whose gap goes below zero.
    expect(decodePacket(Buffer.from([0x01, FrameType.ACK, 3, 0, 1, 0, 5, 0]))).toBeNull();
    // ACK claiming more ranges than the packet can hold.
    expect(decodePacket(Buffer.from([0x01, FrameType.ACK, 3, 0, 50, 0]))).toBeNull();
    // STREAM with a length past the end.
    expect(decodePacket(Buffer.from([0x01, FrameType.STREAM, 0, 10, 1, 2]))).toBeNull();
    // CLOSE reason longer than allowed.
    expect(decodePacket(Buffer.from([0x01, FrameType.CLOSE, 0x43, 0xe8]))).toBeNull();
  });

  it("never throws on random input", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const p = decodePacket(Buffer.from(bytes));
        return p === null || (p.pn >= 0 && Number.isSafeInteger(p.pn));
      }),
      { numRuns: 5000 },
    );
  });

  it("never throws on truncated or bit-flipped valid packets", () => {
    const valid = buildPacket({
      pn: 123456,
      ackPns: [1, 5, 6, 7, 100, 1000],
      maxData: 99999,
      ping: true,
      streams: [{ offset: 77, data: Buffer.from("abcdefgh") }],
      close: "closing",
      tail: { offset: 1 << 20, data: Buffer.alloc(40, 7) },
    });
    for (let n = 0; n < valid.length; n++) {
      const p = decodePacket(valid.subarray(0, n));
      if (p !== null) expect(p.pn).toBe(123456);
    }
    fc.assert(
      fc.property(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 }), (at, mask) => {
        const copy = Buffer.from(valid);
        copy[at] ^= mask;
        const p = decodePacket(copy);
        if (p === null) return true;
        return p.streams.every((s) => s.offset + s.data.length <= Number.MAX_SAFE_INTEGER);
      }),
      { numRuns: 3000 },
    );
  });
});
