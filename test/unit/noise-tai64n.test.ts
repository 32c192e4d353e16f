import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Tai64nSource, tai64n, tai64nAfter } from "../../src/crypto/noise/tai64n.js";

describe("TAI64N timestamps", () => {
  it("encodes the TAI64 label and nanoseconds big-endian", () => {
    const t = tai64n(1_000_001);
    expect(t.readBigUInt64BE(0)).toBe(2n ** 62n + 10n + 1000n);
    expect(t.readUInt32BE(8)).toBe(1_000_000);
  });

  it("orders bytewise as time orders", () => {
    const ms = fc.nat({ max: 2 ** 45 });
    fc.assert(
      fc.property(ms, ms, (a, b) => {
        expect(Math.sign(Buffer.compare(tai64n(a), tai64n(b)))).toBe(Math.sign(a - b));
      }),
    );
  });

  it("a source issues strictly increasing stamps even when the clock stalls or steps back", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 10_000 }), { minLength: 2, maxLength: 50 }), (clock) => {
        const src = new Tai64nSource();
        const out = clock.map((ms) => src.next(ms));
        for (let i = 1; i < out.length; i++) expect(Buffer.compare(out[i], out[i - 1])).toBe(1);
      }),
    );
  });

  it("carries nanoseconds into seconds", () => {
    const t = tai64n(1999);
    t.writeUInt32BE(999_999_999, 8);
    const next = tai64nAfter(t);
    expect(next.readBigUInt64BE(0)).toBe(t.readBigUInt64BE(0) + 1n);
    expect(next.readUInt32BE(8)).toBe(0);
    expect(tai64nAfter(tai64n(1999)).readUInt32BE(8)).toBe(999_000_001);
  });
});
