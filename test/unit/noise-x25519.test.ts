import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateX25519, x25519 } from "../../src/crypto/noise/x25519.js";
import { dh, generateKeyPair, publicKeyOf } from "../../src/crypto/primitives.js";

describe("cached X25519", () => {
  it("agrees with primitives.dh for random keys, both directions", () => {
    fc.assert(
      fc.property(fc.constant(null), () => {
        const a = generateKeyPair();
        const b = generateX25519();
        expect(publicKeyOf(b.privateKey)).toEqual(b.publicKey);
        const shared = x25519(a.privateKey, b.publicKey);
        expect(shared).toEqual(dh(a.privateKey, b.publicKey));
        expect(x25519(b.privateKey, a.publicKey)).toEqual(shared);
        expect(x25519(Buffer.from(a.privateKey), Buffer.from(b.publicKey))).toEqual(shared); // uncached copies
      }),
      { numRuns: 20 },
    );
  });

  it("throws on low-order points and wrong sizes, like primitives.dh", () => {
    const k = generateX25519();
    expect(() => x25519(k.privateKey, Buffer.alloc(32))).toThrow();
    expect(() => x25519(k.privateKey, Buffer.alloc(31))).toThrow(RangeError);
  });
});
