/**
 * Sender-side loss recovery (RFC 9002 §6): the record of packets in flight, ACK processing,
 * packet- and time-threshold loss detection and the probe timeout.
 *
 * Sent packets live in an array indexed by packet number (numbers are dense), so an ACK touches
 * only the packets it newly acknowledges: ranges are walked from the top and the walk stops at
 * the oldest packet still outstanding. Packets more than packetThreshold below largestAcked are
 * always resolved (acked or lost), so the window walked per ACK stays small (≤ the threshold,
 * itself capped) whatever the number in flight.
 *
 * Recently lost packet numbers are remembered: if one is acknowledged after all, the loss was
 * spurious (reordering), and the thresholds adapt (see MAX_PACKET_THRESHOLD).
 */
import {
  MAX_PACKET_THRESHOLD,
  MAX_PTO_PERIOD_MS,
  MAX_REMEMBERED_LOST_RANGES,
  MAX_TIME_THRESHOLD,
  PACKET_THRESHOLD,
  TIME_THRESHOLD,
  TIME_THRESHOLD_STEP,
} from "./constants.js";
import type { AckFrame } from "./packet.js";
import { RangeSet } from "./range-set.js";
import type { RttEstimator } from "./rtt.js";

export interface SentPacket {
  pn: number;
  timeSent: number;
  /** Bytes on the wire including the session overhead (what congestion control counts). */
  size: number;
  ackEliciting: boolean;
  /** Stream bytes carried, or streamLen 0. */
  streamOffset: number;
  streamLen: number;
  /** MAX_DATA value carried, or -1. */
  maxData: number;
  /** Datagram size being probed when this is a PMTU probe, else 0. */
  probeSize: number;
  /** Largest packet number acknowledged by an ACK frame in this packet, or -1. */
  largestAckSent: number;
}

export class LossRecovery {
  nextPn = 0;
  largestAcked = -1;
  /** Time at which a packet will cross the time threshold, or Infinity. */
  lossTime = Number.POSITIVE_INFINITY;
  ptoCount = 0;
  lastAckElicitingSent = 0;
  ackElicitingInFlight = 0;
  /** Packets newly acknowledged / declared lost by the last call; reused between calls. */
  readonly acked: SentPacket[] = [];
  readonly lost: SentPacket[] = [];
  /** Packet numbers the last ACK showed were declared lost wrongly; reused between calls. */
  readonly spurious: number[] = [];
  /** Reordering tolerated before declaring loss, in packets and in RTTs (both adapt upward). */
  packetThreshold = PACKET_THRESHOLD;
  timeThreshold = TIME_THRESHOLD;
  spuriousLosses = 0;
  private readonly recentlyLost = new RangeSet();

  private slots: (SentPacket | undefined)[] = [];
  /** Packet number of slots[0]. */
  private firstPn = 0;
  /** Index of the oldest slot that may still hold a packet. */
  private head = 0;

  constructor(private readonly rtt: RttEstimator) {}

  /** Records a packet we are about to send (only ack-eliciting packets need recording). */
  onSent(p: SentPacket): void {
    const idx = p.pn - this.firstPn;
    if (this.head === this.slots.length && idx > this.slots.length) {
      // Nothing outstanding and numbers were skipped (ack-only packets): restart the array.
      this.slots.length = 0;
      this.head = 0;
      this.firstPn = p.pn;
      this.slots.push(p);
    } else {
      while (this.slots.length < idx) this.slots.push(undefined);
      this.slots.push(p);
    }
    if (p.ackEliciting) {
      this.ackElicitingInFlight++;
      this.lastAckElicitingSent = p.timeSent;
    }
  }

  /**
   * Processes an ACK frame. Fills `acked` and `lost`; returns false when the frame is invalid
   * (acknowledges a packet number never sent) and must be ignored.
   */
  onAck(ack: AckFrame, now: number): boolean {
    this.acked.length = 0;
    this.lost.length = 0;
    this.spurious.length = 0;
    if (ack.largest >= this.nextPn) return false;
    if (ack.largest > this.largestAcked) this.largestAcked = ack.largest;
    if (!this.recentlyLost.isEmpty) this.findSpurious(ack.ranges);
    const slots = this.slots;
    const base = this.firstPn;
    const front = base + this.head;
    const ranges = ack.ranges;
    for (let k = 0; k < ranges.length; k += 2) {
      const hi = Math.min(ranges[k], base + slots.length - 1);
      const lo = ranges[k + 1];
      if (ranges[k] < front) break;
      for (let pn = hi, stop = Math.max(lo, front); pn >= stop; pn--) {
        const p = slots[pn - base];
        if (p !== undefined) {
          slots[pn - base] = undefined;
          if (p.ackEliciting) this.ackElicitingInFlight--;
          this.acked.push(p);
        }
      }
    }
    if (this.acked.length === 0) return true;
    const newest = this.acked[0];
    if (newest.pn === ack.largest && this.acked.some(isAckEliciting)) {
      this.rtt.update(now - newest.timeSent, ack.delayUs / 1000);
    }
    this.ptoCount = 0;
    this.detect(now);
    this.trimFront();
    return true;
  }

  /** Loss timer expiry: declares lost what crossed the time threshold (fills `lost`). */
  onLossTimeout(now: number): void {
    this.lost.length = 0;
    this.detect(now);
    this.trimFront();
  }

  /** Absolute time the probe timeout fires, or Infinity when nothing ack-eliciting is out. */
  ptoDeadline(): number {
    if (this.ackElicitingInFlight === 0) return Number.POSITIVE_INFINITY;
    const period = Math.min(this.rtt.pto() * 2 ** this.ptoCount, MAX_PTO_PERIOD_MS);
    return this.lastAckElicitingSent + period;
  }

  /** The oldest outstanding packet carrying stream data (what a PTO probe re-sends). */
  oldestWithStream(): SentPacket | undefined {
    const slots = this.slots;
    for (let i = this.head; i < slots.length; i++) {
      const p = slots[i];
      if (p !== undefined && p.streamLen > 0) return p;
    }
    return undefined;
  }

  /** Forgets every outstanding packet (the channel closed or died). */
  clear(): void {
    this.slots = [];
    this.head = 0;
    this.firstPn = this.nextPn;
    this.ackElicitingInFlight = 0;
    this.lossTime = Number.POSITIVE_INFINITY;
  }

  private detect(now: number): void {
    this.lossTime = Number.POSITIVE_INFINITY;
    const largest = this.largestAcked;
    if (largest < 0) return;
    const lossDelay = this.rtt.lossDelay(this.timeThreshold);
    const packetThreshold = this.packetThreshold;
    const slots = this.slots;
    const base = this.firstPn;
    const end = Math.min(largest - base, slots.length);
    for (let i = this.head; i < end; i++) {
      const p = slots[i];
      if (p === undefined) continue;
      // Same expression as lossTime below, so a timer firing at lossTime always finds its packet.
      const lostAt = p.timeSent + lossDelay;
      if (lostAt <= now || largest - p.pn >= packetThreshold) {
        slots[i] = undefined;
        if (p.ackEliciting) this.ackElicitingInFlight--;
        this.lost.push(p);
        this.recentlyLost.add(p.pn, p.pn + 1);
      } else if (lostAt < this.lossTime) {
        this.lossTime = lostAt;
      }
    }
  }

  /**
   * Collects acknowledged packet numbers that were declared lost (fills `spurious`) and widens
   * the reordering thresholds to what the path showed.
   */
  private findSpurious(ranges: readonly number[]): void {
    const lost = this.recentlyLost;
    if (lost.count > MAX_REMEMBERED_LOST_RANGES) lost.keepHighest(MAX_REMEMBERED_LOST_RANGES);
    // Merge walk from the top: ACK ranges are [high, low] pairs descending, lost ranges are
    // ascending [start, end) pairs — O(ranges + lost ranges) per ACK.
    const r = lost.r;
    let i = r.length - 2;
    let k = 0;
    while (i >= 0 && k < ranges.length) {
      const ls = r[i];
      const le = r[i + 1] - 1;
      const hi = ranges[k];
      const lo = ranges[k + 1];
      if (lo > le) {
        k += 2; // this ACK range lies above the lost range
        continue;
      }
      if (hi < ls) {
        i -= 2; // the lost range lies above this ACK range
        continue;
      }
      for (let pn = Math.max(ls, lo), to = Math.min(le, hi); pn <= to; pn++) this.spurious.push(pn);
      if (ls >= lo) i -= 2;
      else k += 2;
    }
    if (this.spurious.length === 0) return;
    for (const pn of this.spurious) {
      lost.remove(pn, pn + 1);
      const distance = this.largestAcked - pn + 1;
      if (distance > this.packetThreshold) this.packetThreshold = Math.min(distance, MAX_PACKET_THRESHOLD);
    }
    this.spuriousLosses += this.spurious.length;
    this.timeThreshold = Math.min(this.timeThreshold + TIME_THRESHOLD_STEP, MAX_TIME_THRESHOLD);
  }

  private trimFront(): void {
    const slots = this.slots;
    let h = this.head;
    while (h < slots.length && slots[h] === undefined) h++;
    this.head = h;
    if (h === slots.length) {
      this.firstPn += h;
      slots.length = 0;
      this.head = 0;
    } else if (h > 4096 && h * 2 > slots.length) {
      this.slots = slots.slice(h);
      this.firstPn += h;
      this.head = 0;
    }
  }
}

function isAckEliciting(p: SentPacket): boolean {
  return p.ackEliciting;
}
