import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DATA_HEADER_LEN,
  DATA_TAG_LEN,
  decodeSessionPacket,
  encodeDataHeader,
  encodeInit,
  encodeResponse,
  INIT_LEN,
  INIT_NOISE_LEN,
  isSessionPacket,
  RESPONSE_LEN,
  RESPONSE_NOISE_LEN,
  readDataCounter,
} from "../../src/wire/session.js";

const u32 = fc.nat({ max: 0xffffffff });
const counter = fc.nat({ max: Number.MAX_SAFE_INTEGER });
/** A DATA packet with `len` zero plaintext bytes' worth of ciphertext (not a valid seal). */
const dataPacket = (r: number, c: number, len: number) =>
  Buffer.concat([encodeDataHeader(r, c), Buffer.alloc(len + DATA_TAG_LEN)]);
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a));

describe("session wire codec", () => {
  it("round-trips INIT", () => {
    fc.assert(
      fc.property(u32, bytes(INIT_NOISE_LEN), (i, noise) => {
        const p = encodeInit(i, noise);
        expect(p.length).toBe(INIT_LEN);
        expect(decodeSessionPacket(p)).toEqual({ type: "init", senderIndex: i, noise });
      }),
    );
  });

  it("round-trips RESPONSE", () => {
    fc.assert(
      fc.property(u32, u32, bytes(RESPONSE_NOISE_LEN), (s, r, noise) => {
        const p = encodeResponse(s, r, noise);
        expect(p.length).toBe(RESPONSE_LEN);
        expect(decodeSessionPacket(p)).toEqual({ type: "response", senderIndex: s, receiverIndex: r, noise });
      }),
    );
  });

  it("round-trips the DATA header, counter exact up to 2^53-1", () => {
    fc.assert(
      fc.property(u32, counter, fc.nat({ max: 2000 }), (r, c, len) => {
        const header = encodeDataHeader(r, c);
        expect(header.length).toBe(DATA_HEADER_LEN);
        const p = Buffer.concat([header, Buffer.alloc(len + DATA_TAG_LEN, 7)]);
        expect(p.length).toBe(DATA_HEADER_LEN + len + DATA_TAG_LEN);
        expect(readDataCounter(p)).toBe(c);
        expect(p.readBigUInt64LE(5)).toBe(BigInt(c)); // little-endian, as the Noise nonce
        const d = decodeSessionPacket(p);
        expect(d).toMatchObject({ type: "data", receiverIndex: r, counter: c });
        expect(d?.type === "data" && d.ciphertext.length).toBe(len + DATA_TAG_LEN);
      }),
    );
  });

  it("refuses counters beyond 2^53-1", () => {
    const p = dataPacket(1, 0, 0);
    p.writeBigUInt64LE(2n ** 53n, 5);
    expect(readDataCounter(p)).toBe(-1);
    expect(decodeSessionPacket(p)).toBeNull();
  });

  it("refuses wrong sizes for the fixed-size messages", () => {
    const init = encodeInit(1, Buffer.alloc(INIT_NOISE_LEN));
    const resp = encodeResponse(1, 2, Buffer.alloc(RESPONSE_NOISE_LEN));
    for (const p of [init, resp]) {
      expect(decodeSessionPacket(p.subarray(0, p.length - 1))).toBeNull();
      expect(decodeSessionPacket(Buffer.concat([p, Buffer.of(0)]))).toBeNull();
    }
    expect(
      decodeSessionPacket(dataPacket(1, 1, 0).subarray(0, DATA_HEADER_LEN + DATA_TAG_LEN - 1)),
    ).toBeNull();
    expect(() => encodeInit(1, Buffer.alloc(3))).toThrow(RangeError);
  });

  it("never throws on arbitrary input and only decodes its own types", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (a) => {
        const buf = Buffer.from(a);
        const d = decodeSessionPacket(buf);
        if (d !== null) expect(isSessionPacket(buf)).toBe(true);
        readDataCounter(buf);
      }),
      { numRuns: 2000 },
    );
  });

  it("never throws on truncations of valid packets", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(u32, bytes(INIT_NOISE_LEN)).map(([i, n]) => encodeInit(i, n)),
          fc.tuple(u32, u32, bytes(RESPONSE_NOISE_LEN)).map(([s, r, n]) => encodeResponse(s, r, n)),
          fc.tuple(u32, counter, fc.nat({ max: 100 })).map(([r, c, l]) => dataPacket(r, c, l)),
        ),
        fc.nat(),
        (p, cut) => {
          const t = p.subarray(0, cut % p.length);
          if (t[0] !== 0x22) expect(decodeSessionPacket(t)).toBeNull();
          else if (t.length < DATA_HEADER_LEN + DATA_TAG_LEN) expect(decodeSessionPacket(t)).toBeNull();
        },
      ),
    );
  });
});
