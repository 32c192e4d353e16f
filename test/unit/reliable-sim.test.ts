/**
 * End-to-end runs of two ReliableChannels through the deterministic simulator. The harness
 * throws as soon as a reader sees a wrong byte, so `done` plus the byte counts prove every byte
 * arrived exactly once and in order.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { simulate } from "../sim/harness.js";
import type { LinkConfig } from "../sim/link.js";

const SEEDS = Array.from({ length: 8 }, (_, i) => i + 1);

const impairments: Record<string, { link: LinkConfig; bytes: number }> = {
  clean: { link: { delayMs: 5 }, bytes: 400_000 },
  "loss 1%": { link: { delayMs: 5, loss: 0.01 }, bytes: 400_000 },
  "loss 5%": { link: { delayMs: 5, loss: 0.05 }, bytes: 400_000 },
  "loss 30%": { link: { delayMs: 2, loss: 0.3 }, bytes: 100_000 },
  "jitter (reordering)": { link: { delayMs: 5, jitterMs: 8 }, bytes: 400_000 },
  "explicit reordering": { link: { delayMs: 3, reorder: 0.1, reorderDelayMs: 7 }, bytes: 400_000 },
  duplication: { link: { delayMs: 3, duplicate: 0.2 }, bytes: 400_000 },
  "bottleneck with small queue": {
    link: { delayMs: 5, bandwidthMbps: 20, queueBytes: 15_000 },
    bytes: 400_000,
  },
  "everything at once": {
    link: {
      delayMs: 10,
      jitterMs: 4,
      loss: 0.05,
      duplicate: 0.05,
      reorder: 0.05,
      reorderDelayMs: 15,
      bandwidthMbps: 50,
      queueBytes: 60_000,
    },
    bytes: 300_000,
  },
};

describe("reliable channel in the simulator", () => {
  for (const [name, { link, bytes }] of Object.entries(impairments)) {
    it(`delivers every byte once and in order: ${name}`, () => {
      for (const seed of SEEDS) {
        const r = simulate({
          seed,
          bytesAtoB: bytes,
          bytesBtoA: bytes / 4,
          linkAtoB: link,
          channel: { overhead: 30 },
        });
        expect(r.done, `seed ${seed}`).toBe(true);
        expect(r.statsB.bytesRead).toBe(bytes);
        expect(r.statsA.bytesRead).toBe(bytes / 4);
        expect(r.statsA.state).toBe("open");
        if (link.loss) expect(r.statsA.packetsLost).toBeGreaterThan(0);
      }
    });
  }

  it("delivers exactly under random combinations of impairments (property)", () => {
    const link = fc.record({
      delayMs: fc.double({ min: 0.1, max: 40, noNaN: true }),
      jitterMs: fc.double({ min: 0, max: 10, noNaN: true }),
      loss: fc.double({ min: 0, max: 0.3, noNaN: true }),
      duplicate: fc.double({ min: 0, max: 0.1, noNaN: true }),
      reorder: fc.double({ min: 0, max: 0.1, noNaN: true }),
      reorderDelayMs: fc.double({ min: 0, max: 20, noNaN: true }),
      bandwidthMbps: fc.constantFrom(undefined, 5, 50, 500),
      queueBytes: fc.constantFrom(undefined, 20_000, 200_000),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 }),
        link,
        link,
        fc.integer({ min: 1, max: 300_000 }),
        fc.integer({ min: 0, max: 50_000 }),
        fc.constantFrom(1200, 1452, 9000),
        (seed, ab, ba, bytesAtoB, bytesBtoA, maxDatagramSize) => {
          const r = simulate({
            seed,
            bytesAtoB,
            bytesBtoA,
            linkAtoB: ab,
            linkBtoA: ba,
            channel: { overhead: 30, maxDatagramSize },
          });
          expect(r.done).toBe(true);
          expect(r.statsB.bytesRead).toBe(bytesAtoB);
          expect(r.statsA.bytesRead).toBe(bytesBtoA);
        },
      ),
      { numRuns: 40, seed: 20261125 },
    );
  });

  it("survives a lossy return path (ACKs lost 30%)", () => {
    for (const seed of SEEDS) {
      const r = simulate({
        seed,
        bytesAtoB: 300_000,
        linkAtoB: { delayMs: 5 },
        linkBtoA: { delayMs: 5, loss: 0.3 },
      });
      expect(r.done).toBe(true);
      expect(r.statsB.bytesRead).toBe(300_000);
    }
  });

  it("spends no retransmissions on a clean path", () => {
    const r = simulate({ seed: 3, bytesAtoB: 2_000_000, linkAtoB: { delayMs: 10, bandwidthMbps: 100 } });
    expect(r.done).toBe(true);
    expect(r.statsA.packetsLost).toBe(0);
    expect(r.statsA.retransmittedBytes).toBe(0);
  });

  for (const oneWayMs of [0.5, 10]) {
    it(`keeps at least half the lossless goodput at 1% loss (RTT ${2 * oneWayMs} ms)`, () => {
      const base: LinkConfig = { delayMs: oneWayMs, bandwidthMbps: 100, queueBytes: 250_000 };
      const run = (loss: number) =>
        simulate({
          seed: 11,
          bytesAtoB: 8_000_000,
          linkAtoB: { ...base, loss },
          linkBtoA: { delayMs: oneWayMs, loss },
          channel: { overhead: 30 },
        });
      const clean = run(0);
      const lossy = run(0.01);
      expect(clean.done && lossy.done).toBe(true);
      expect(lossy.goodputMbps).toBeGreaterThan(clean.goodputMbps / 2);
      // The gate, not luck: random losses were recognised and did not shrink the window.
      expect(lossy.statsA.ignoredLossEvents).toBeGreaterThan(0);
    });
  }

  it("adapts to a reordering path: spurious losses widen the thresholds and undo reductions", () => {
    const run = (jitterMs: number) =>
      simulate({
        seed: 1,
        bytesAtoB: 10_000_000,
        linkAtoB: { delayMs: 10, jitterMs, bandwidthMbps: 100, queueBytes: 300_000 },
        linkBtoA: { delayMs: 10 },
      });
    const steady = run(0);
    const jittery = run(10); // per-packet jitter of 10 ms reorders ~80 packets deep
    expect(steady.done && jittery.done).toBe(true);
    expect(jittery.statsA.spuriousLosses).toBeGreaterThan(0);
    expect(jittery.statsA.packetThreshold).toBeGreaterThan(3);
    expect(jittery.statsA.timeThreshold).toBeGreaterThan(9 / 8);
    expect(jittery.statsA.undoneReductions).toBeGreaterThan(0);
    expect(jittery.goodputMbps).toBeGreaterThan(0.7 * steady.goodputMbps);
  });

  it("still backs off on real congestion: a full bottleneck queue reduces the window", () => {
    const r = simulate({
      seed: 5,
      bytesAtoB: 4_000_000,
      linkAtoB: { delayMs: 10, bandwidthMbps: 20, queueBytes: 100_000 },
    });
    expect(r.done).toBe(true);
    expect(r.statsA.congestionEvents).toBeGreaterThan(0);
    // Goodput close to the bottleneck, and the queue did not overflow for most of the run.
    expect(r.goodputMbps).toBeGreaterThan(14);
    expect(r.linkAtoB.queueDrops).toBeLessThan(r.linkAtoB.sent / 20);
  });
});
