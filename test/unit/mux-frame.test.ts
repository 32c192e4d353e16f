import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteQueue } from "../../src/tunnel/mux/byte-queue.js";
import { coalesce } from "../../src/tunnel/mux/coalesce.js";
import { RESET, resetCodeName } from "../../src/tunnel/mux/codes.js";
import {
  FLAG_FIN,
  FrameType,
  HEADER_SIZE,
  MAX_CONTROL_BODY,
  MAX_DATA_BODY,
  MAX_REASON_BYTES,
} from "../../src/tunnel/mux/constants.js";
import { FrameDecoder } from "../../src/tunnel/mux/decoder.js";
import { StreamRefusedError } from "../../src/tunnel/mux/errors.js";
import {
  encodeAccept,
  encodeData,
  encodeGoAway,
  encodeOpen,
  encodePing,
  encodeReset,
  encodeWindowUpdate,
  type Frame,
  parseCoded,
  parseOpen,
  parseWindowUpdate,
} from "../../src/tunnel/mux/frame.js";
import { STREAM_REFUSAL_CODES, toStreamRefused } from "../../src/tunnel/stream-errors.js";

/** A frame as the tests describe it, plus the bytes its encoder produces. */
interface Case {
  frame: Frame;
  bytes: Buffer;
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const text = fc.string({ minLength: 1, maxLength: 60 }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s));

const arbCase: fc.Arbitrary<Case> = fc.oneof(
  fc.tuple(u32, fc.uint8Array({ maxLength: 3000 }), fc.boolean()).map(([id, body, fin]) => ({
    frame: { type: FrameType.DATA, flags: fin ? FLAG_FIN : 0, streamId: id, body: Buffer.from(body) },
    bytes: encodeData(id, Buffer.from(body), fin),
  })),
  fc.tuple(u32, u32).map(([id, delta]) => {
    const body = Buffer.alloc(4);
    body.writeUInt32BE(delta);
    return {
      frame: { type: FrameType.WINDOW_UPDATE, flags: 0, streamId: id, body },
      bytes: encodeWindowUpdate(id, delta),
    };
  }),
  fc.tuple(u32, text).map(([id, t]) => ({
    frame: { type: FrameType.OPEN, flags: 0, streamId: id, body: Buffer.from(t) },
    bytes: encodeOpen(id, t),
  })),
  u32.map((id) => ({
    frame: { type: FrameType.ACCEPT, flags: 0, streamId: id, body: Buffer.alloc(0) },
    bytes: encodeAccept(id),
  })),
  fc
    .tuple(u32, fc.integer({ min: 0, max: 0xffff }), fc.string({ maxLength: 80 }))
    .map(([id, code, reason]) => {
      const body = Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]);
      return {
        frame: { type: FrameType.RESET, flags: 0, streamId: id, body },
        bytes: encodeReset(id, code, reason),
      };
    }),
  fc.tuple(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.boolean()).map(([opaque, pong]) => ({
    frame: { type: pong ? FrameType.PONG : FrameType.PING, flags: 0, streamId: 0, body: Buffer.from(opaque) },
    bytes: encodePing(Buffer.from(opaque), pong),
  })),
);

/** Splits `buf` at the given (sorted, deduplicated) cut points. */
function cut(buf: Buffer, points: number[]): Buffer[] {
  const cuts = [...new Set(points.map((p) => p % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  out.push(buf.subarray(prev));
  return out;
}

function decodeAll(chunks: Buffer[], maxData = MAX_DATA_BODY): { frames: Frame[]; dec: FrameDecoder } {
  const dec = new FrameDecoder(maxData);
  const frames: Frame[] = [];
  for (const c of chunks) {
    dec.push(c);
    for (let f = dec.next(); f; f = dec.next()) frames.push({ ...f, body: Buffer.from(f.body) });
  }
  return { frames, dec };
}

describe("mux frame codec", () => {
  it("lays out the header as [type][flags][stream id u32][length u32]", () => {
    const b = encodeData(0x01020304, Buffer.from("abc"), true);
    expect([...b.subarray(0, HEADER_SIZE)]).toEqual([0x00, FLAG_FIN, 1, 2, 3, 4, 0, 0, 0, 3]);
    expect(b.subarray(HEADER_SIZE).toString()).toBe("abc");
  });

  it("decodes what it encodes, whatever the chunking", () => {
    fc.assert(
      fc.property(
        fc.array(arbCase, { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (cases, points) => {
          const stream = Buffer.concat(cases.map((c) => c.bytes));
          const { frames, dec } = decodeAll(cut(stream, points));
          expect(dec.error).toBeNull();
          expect(dec.bufferedBytes).toBe(0);
          expect(frames).toEqual(cases.map((c) => c.frame));
        },
      ),
    );
  });

  it("yields exactly the complete frames of a truncated stream and waits for the rest", () => {
    fc.assert(
      fc.property(fc.array(arbCase, { minLength: 1, maxLength: 10 }), fc.nat(), (cases, n) => {
        const stream = Buffer.concat(cases.map((c) => c.bytes));
        const len = n % stream.length;
        const { frames, dec } = decodeAll([stream.subarray(0, len)]);
        let complete = 0;
        for (let end = 0, i = 0; i < cases.length; i++) {
          end += cases[i].bytes.length;
          if (end <= len) complete++;
        }
        expect(dec.error).toBeNull();
        expect(frames).toEqual(cases.slice(0, complete).map((c) => c.frame));
      }),
    );
  });

  it("never throws on random bytes, and stops for good after an error", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 }), (chunks) => {
        const { frames, dec } = decodeAll(chunks.map((c) => Buffer.from(c)));
        for (const f of frames) expect(Object.values(FrameType)).toContain(f.type);
        if (dec.error) {
          dec.push(encodeAccept(1));
          expect(dec.next()).toBeNull();
        }
      }),
    );
  });

  it("rejects unknown types and oversized bodies from the header alone", () => {
    const unknown = Buffer.from([0x7f, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(decodeAll([unknown]).dec.error).toMatch(/unknown frame type 0x7f/);
    const big = encodeData(1, Buffer.alloc(0));
    big.writeUInt32BE(MAX_DATA_BODY + 1, 6);
    expect(decodeAll([big]).dec.error).toMatch(/exceeds/);
    const bigControl = encodeAccept(1);
    bigControl.writeUInt32BE(MAX_CONTROL_BODY + 1, 6);
    expect(decodeAll([bigControl]).dec.error).toMatch(/exceeds/);
    // A DATA body at the limit is fine.
    expect(decodeAll([encodeData(1, Buffer.alloc(MAX_DATA_BODY))]).frames).toHaveLength(1);
  });

  it("returns a body inside one chunk as a view, without copying", () => {
    const wire = encodeData(5, Buffer.from("zero-copy"));
    const dec = new FrameDecoder(MAX_DATA_BODY);
    dec.push(wire);
    const f = dec.next()!;
    expect(f.body.buffer).toBe(wire.buffer);
    expect(f.body.byteOffset).toBe(wire.byteOffset + HEADER_SIZE);
  });
});

describe("mux frame bodies", () => {
  it("body parsers never throw on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), (raw) => {
        const b = Buffer.from(raw);
        const w = parseWindowUpdate(b);
        expect(w === null || (w >= 0 && b.length === 4)).toBe(true);
        const t = parseOpen(b);
        expect(t === null || t.length > 0).toBe(true);
        const c = parseCoded(b);
        expect(c === null || (c.code >= 0 && c.code <= 0xffff)).toBe(true);
      }),
    );
  });

  it("refuses targets with control characters or broken UTF-8", () => {
    expect(parseOpen(Buffer.from("example.lan:80"))).toBe("example.lan:80");
    expect(parseOpen(Buffer.from("evil\nhost:80"))).toBeNull();
    expect(parseOpen(Buffer.from([0xc3, 0x28]))).toBeNull();
    expect(parseOpen(Buffer.alloc(0))).toBeNull();
    expect(() => encodeOpen(1, "")).toThrow(RangeError);
    expect(() => encodeOpen(1, "x".repeat(1025))).toThrow(RangeError);
  });

  it("cuts long reasons at a UTF-8 character boundary", () => {
    const reason = "é".repeat(MAX_REASON_BYTES); // 2 bytes each
    const frame = encodeReset(3, 8, `x${reason}`);
    const parsed = parseCoded(frame.subarray(HEADER_SIZE))!;
    expect(parsed.code).toBe(8);
    expect(Buffer.byteLength(parsed.reason)).toBeLessThanOrEqual(MAX_REASON_BYTES);
    expect(parsed.reason).not.toContain("\ufffd");
    expect(parsed.reason.startsWith("xé")).toBe(true);
    const g = parseCoded(encodeGoAway(1, "bye").subarray(HEADER_SIZE));
    expect(g).toEqual({ code: 1, reason: "bye" });
  });
});

describe("mux byte queue and write coalescing", () => {
  it("ByteQueue hands out exactly the bytes pushed, in order, as views", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 20 }),
        fc.array(fc.nat({ max: 150 }), { maxLength: 40 }),
        (bufs, takes) => {
          const q = new ByteQueue();
          for (const b of bufs) q.push(Buffer.from(b));
          const all = Buffer.concat(bufs.map((b) => Buffer.from(b)));
          expect(q.length).toBe(all.length);
          const out: Buffer[] = [];
          for (const t of takes) q.takeInto(Math.min(t, q.length), out);
          q.takeInto(q.length, out);
          expect(q.length).toBe(0);
          expect(Buffer.concat(out).equals(all)).toBe(true);
        },
      ),
    );
  });

  it("coalesce keeps the byte order, merges small pieces and passes large ones through uncopied", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 30 }), (raw) => {
        const pieces: Buffer[] = raw.map((r) => Buffer.from(r));
        const writes = coalesce(pieces, 100);
        expect(Buffer.concat(writes).equals(Buffer.concat(pieces))).toBe(true);
        for (const p of pieces) if (p.length >= 100) expect(writes).toContain(p);
        // No two consecutive writes are both merged runs of small pieces.
        const small = (w: Buffer) => !pieces.includes(w) || w.length < 100;
        for (let i = 1; i < writes.length; i++) expect(small(writes[i - 1]) && small(writes[i])).toBe(false);
      }),
    );
  });
});

describe("mux reset codes", () => {
  it("carry the shared stream-refusal numbers, so toStreamRefused reads a mux refusal correctly", () => {
    const pairs: [number, string][] = [
      [RESET.REFUSED_BY_POLICY, "NOT_ALLOWED"],
      [RESET.CONNECTION_REFUSED, "CONNECTION_REFUSED"],
      [RESET.HOST_UNREACHABLE, "HOST_UNREACHABLE"],
      [RESET.NETWORK_UNREACHABLE, "NETWORK_UNREACHABLE"],
      [RESET.NAME_NOT_RESOLVED, "NAME_NOT_RESOLVED"],
      [RESET.TIMEOUT, "TIMEOUT"],
      [RESET.PEER_GONE, "PEER_NOT_CONNECTED"],
      [RESET.INTERNAL, "INTERNAL"],
      [RESET.CANCELLED, "CANCELLED"],
      [RESET.BAD_TARGET, "BAD_TARGET"],
    ];
    for (const [code, shared] of pairs) {
      const refusal = toStreamRefused(new StreamRefusedError(code, "why"));
      expect(refusal.code).toBe(shared);
      expect(refusal.reason).toBe("why");
    }
    // Mux-only codes stay clear of the shared table and read as INTERNAL there.
    const shared = new Set<number>(Object.values(STREAM_REFUSAL_CODES));
    expect(shared.has(RESET.TOO_MANY_STREAMS) || shared.has(RESET.CONNECTION_RESET)).toBe(false);
    const values = Object.values(RESET);
    expect(new Set(values).size).toBe(values.length);
    expect(values.every((v) => v > 0 && v <= 0xffff)).toBe(true);
    expect(resetCodeName(RESET.PEER_GONE)).toBe("PEER_GONE");
    expect(resetCodeName(0xfffe)).toBe("UNKNOWN_65534");
  });
});
