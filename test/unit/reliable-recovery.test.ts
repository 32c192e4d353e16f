/** LossRecovery in isolation: ACK processing, loss declaration and spurious-loss detection. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AckFrame } from "../../src/tunnel/reliable/packet.js";
import { RangeSet } from "../../src/tunnel/reliable/range-set.js";
import { LossRecovery, type SentPacket } from "../../src/tunnel/reliable/recovery.js";
import { RttEstimator } from "../../src/tunnel/reliable/rtt.js";

function sendPackets(rec: LossRecovery, n: number, now: number): void {
  for (let i = 0; i < n; i++) {
    const p: SentPacket = {
      pn: rec.nextPn++,
      timeSent: now,
      size: 1000,
      ackEliciting: true,
      streamOffset: i * 1000,
      streamLen: 1000,
      maxData: -1,
      probeSize: 0,
      largestAckSent: -1,
    };
    rec.onSent(p);
  }
}

/** An ACK frame for a set of packet numbers. */
function ackOf(pns: Iterable<number>): AckFrame {
  const set = new RangeSet();
  for (const pn of pns) set.add(pn, pn + 1);
  const ranges: number[] = [];
  for (let i = set.r.length - 2; i >= 0; i -= 2) ranges.push(set.r[i + 1] - 1, set.r[i]);
  return { largest: ranges[0], delayUs: 0, ranges };
}

describe("LossRecovery", () => {
  it("acknowledges exactly the packets in the ranges and declares older gaps lost", () => {
    const rec = new LossRecovery(new RttEstimator(25));
    sendPackets(rec, 10, 0);
    expect(rec.onAck(ackOf([4, 5, 6, 7, 8, 9]), 10)).toBe(true);
    expect(rec.acked.map((p) => p.pn).sort((a, b) => a - b)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(rec.lost.map((p) => p.pn).sort((a, b) => a - b)).toEqual([0, 1, 2, 3]);
    expect(rec.ackElicitingInFlight).toBe(0);
  });

  it("rejects an ACK for a packet never sent", () => {
    const rec = new LossRecovery(new RttEstimator(25));
    sendPackets(rec, 3, 0);
    expect(rec.onAck(ackOf([3]), 1)).toBe(false);
    expect(rec.ackElicitingInFlight).toBe(3);
  });

  it("recognises late acknowledgements of lost packets and widens the thresholds", () => {
    const rec = new LossRecovery(new RttEstimator(25));
    sendPackets(rec, 20, 0);
    rec.onAck(ackOf([10, 11, 12]), 5);
    expect(rec.lost.length).toBe(10);
    rec.onAck(ackOf([1, 2, 10, 11, 12]), 6);
    expect(rec.spurious.sort((a, b) => a - b)).toEqual([1, 2]);
    expect(rec.packetThreshold).toBe(12); // largest acked 12 − pn 1 + 1
    expect(rec.timeThreshold).toBeGreaterThan(9 / 8);
    // Reported once: the same ACK again finds nothing new.
    rec.onAck(ackOf([1, 2, 10, 11, 12]), 7);
    expect(rec.spurious).toEqual([]);
  });

  it("spurious = (declared lost) ∩ (acknowledged later), for random patterns", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 5, max: 120 }),
        fc.array(fc.boolean(), { minLength: 120, maxLength: 120 }),
        fc.array(fc.boolean(), { minLength: 120, maxLength: 120 }),
        (n, firstMask, secondMask) => {
          const rec = new LossRecovery(new RttEstimator(25));
          sendPackets(rec, n, 0);
          const first = [...Array(n).keys()].filter((pn) => firstMask[pn] || pn === n - 1);
          rec.onAck(ackOf(first), 1);
          const lost = new Set(rec.lost.map((p) => p.pn));
          const second = [...Array(n).keys()].filter((pn) => secondMask[pn] || pn === n - 1);
          rec.onAck(ackOf(second), 2);
          // Only the 16 highest lost ranges are remembered; compare within them.
          const expected = second.filter((pn) => lost.has(pn));
          const got = [...rec.spurious].sort((a, b) => a - b);
          for (const pn of got) expect(lost.has(pn)).toBe(true);
          if (lost.size <= 16) expect(got).toEqual(expected);
        },
      ),
    );
  });
});
