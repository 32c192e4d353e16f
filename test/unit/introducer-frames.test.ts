import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameDecoder, frame } from "../../src/introducer/tcp-frames.js";

describe("introducer TCP framing", () => {
  it("reassembles frames however the stream is cut", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 10 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
        (packets, cuts) => {
          const stream = Buffer.concat(packets.map((p) => frame(Buffer.from(p))));
          const d = new FrameDecoder(1400);
          const got: Buffer[] = [];
          for (let at = 0, i = 0; at < stream.length; i++) {
            const n = cuts[i % cuts.length];
            got.push(...d.push(stream.subarray(at, at + n))!);
            at += n;
          }
          expect(got.map((b) => [...b])).toEqual(packets.map((p) => [...p]));
        },
      ),
    );
  });

  it("frames a packet given in pieces exactly as the joined packet", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 4 }), (parts) => {
        const pieces = parts.map((p) => Buffer.from(p));
        expect(frame(pieces)).toEqual(frame(Buffer.concat(pieces)));
      }),
    );
  });

  it("reports zero-length and oversized frames as errors, and never throws on random input", () => {
    expect(new FrameDecoder(1400).push(Buffer.from([0, 0, 1]))).toBeNull();
    expect(new FrameDecoder(1400).push(Buffer.from([0x05, 0x79]))).toBeNull();
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 20 }), (chunks) => {
        const d = new FrameDecoder(1400);
        for (const c of chunks) {
          const frames = d.push(Buffer.from(c));
          if (frames === null) return;
          for (const f of frames) expect(f.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
