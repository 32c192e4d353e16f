/**
 * Fuzzing SessionManager.handle with random, truncated, mutated and spliced packets built from
 * real captured traffic. Every captured packet was already consumed, so no input can be accepted:
 * each call must return no action and bump exactly one drop counter, and none may throw.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateKeyPair } from "../../src/crypto/primitives.js";
import { Net, sumCounters } from "./session-harness.js";

function capturedTraffic() {
  const net = new Net();
  const ka = generateKeyPair();
  const kb = generateKeyPair();
  const a = net.add("a", ka, [kb.publicKey], { host: "198.51.100.1", port: 1000 });
  const b = net.add("b", kb, [ka.publicKey], { host: "203.0.113.2", port: 2000 });
  net.connect(a, b);
  const packets = net.run().map((p) => p.packet);
  for (let i = 0; i < 4; i++) {
    net.send(a, b, Buffer.alloc(40 * i, i));
    net.send(b, a, Buffer.alloc(30 * i + 1, i));
  }
  packets.push(...net.run().map((p) => p.packet));
  expect(a.mgr.isEstablished(b.id) && b.mgr.isEstablished(a.id)).toBe(true);
  expect(sumCounters(a.mgr.counters) + sumCounters(b.mgr.counters)).toBe(0);
  return { net, a, b, packets };
}

describe("SessionManager.handle fuzz", () => {
  const { net, a, b, packets } = capturedTraffic();
  const known = fc.constantFrom(...packets);
  const input = fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((x) => Buffer.from(x)),
    fc
      .tuple(fc.constantFrom(0x20, 0x21, 0x22), fc.uint8Array({ maxLength: 200 }))
      .map(([t, x]) => Buffer.concat([Buffer.of(t), x])),
    fc.tuple(known, fc.nat()).map(([p, cut]) => p.subarray(0, cut % (p.length + 1))),
    fc
      .tuple(
        known,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
      )
      .map(([p, flips]) => {
        const m = Buffer.from(p);
        for (const [at, x] of flips) m[at % m.length] ^= x;
        return m;
      }),
    fc.tuple(known, known, fc.nat()).map(([p, q, cut]) => Buffer.concat([p.subarray(0, cut % p.length), q])),
    known, // plain replays
  );
  const from = fc.constantFrom(
    { host: "198.51.100.1", port: 1000 },
    { host: "192.0.2.9", port: 9 },
    { host: "::1", port: 1 },
  );

  for (const node of [a, b]) {
    it(`drops and counts every bad packet at ${node.name}`, () => {
      const endpointBefore = node.mgr.endpointOf(node === a ? b.id : a.id);
      fc.assert(
        fc.property(input, from, (pkt, src) => {
          const before = sumCounters(node.mgr.counters);
          net.now += 25; // past the INIT flood limit, so replays hit the timestamp check
          expect(node.mgr.handle(pkt, src, net.now)).toEqual([]);
          expect(sumCounters(node.mgr.counters)).toBe(before + 1);
        }),
        { numRuns: 3000 },
      );
      expect(node.mgr.endpointOf(node === a ? b.id : a.id)).toEqual(endpointBefore);
      expect(node.mgr.isEstablished(node === a ? b.id : a.id)).toBe(true);
    });
  }
});
