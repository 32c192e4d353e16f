import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
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

  it("makes clamped, distinct private keys (RFC 7748 §5), like OpenSSL's keygen", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      for (const k of [generateX25519(), generateKeyPair()]) {
        expect(k.privateKey.length).toBe(32);
        expect(k.privateKey[0] & 7).toBe(0);
        expect(k.privateKey[31] & 0xc0).toBe(0x40);
        seen.add(k.privateKey.toString("hex"));
      }
    }
    expect(seen.size).toBe(100);
  });

  it("no source file generates keys with node:crypto's generateKeyPair(Sync)", () => {
    // Node 20 deadlocks when exporting such a key runs a GC that frees its generation job (see
    // src/crypto/noise/x25519.ts); keys are made from random bytes instead.
    const root = join(import.meta.dirname, "../../src");
    const files = readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    expect(files.length).toBeGreaterThan(50);
    const offenders = files.filter((f) => {
      const code = readFileSync(join(root, f), "utf8");
      return (
        /import\s*\{[^}]*\bgenerateKeyPair(Sync)?\b[^}]*\}\s*from\s*"node:crypto"/.test(code) ||
        /\bcrypto\.generateKeyPair(Sync)?\(/.test(code)
      );
    });
    expect(offenders).toEqual([]);
  });
});
