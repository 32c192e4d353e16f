/**
 * Pacing (RFC 9002 §7.7) as a token bucket: the rate is gain × cwnd / srtt, the bucket holds
 * at least PACING_BURST_MS worth of sending (timers fire with ~1 ms granularity, so a smaller
 * bucket would cap the rate at bucket/ms) and at least two datagrams. A send may take the
 * budget negative; the next one waits until it is positive again.
 */
import { PACING_BURST_MS, PACING_GAIN, PACING_GAIN_SLOW_START } from "./constants.js";

/**
 * Rounding slack: a deficit worth less than this much sending time counts as paid. Without it
 * float rounding can leave the budget at -1e-12 at the very time we computed it would be 0.
 */
const SLACK_MS = 0.01;

export class Pacer {
  /** Bytes per millisecond; Infinity until the first RTT sample. */
  rate = Number.POSITIVE_INFINITY;
  private capacity: number;
  private budget: number;
  private last = 0;

  constructor(initialBurst: number) {
    this.capacity = initialBurst;
    this.budget = initialBurst;
  }

  configure(cwnd: number, srtt: number, slowStart: boolean, datagramSize: number): void {
    const gain = slowStart ? PACING_GAIN_SLOW_START : PACING_GAIN;
    this.rate = (gain * cwnd) / Math.max(srtt, 0.01);
    this.capacity = Math.max(2 * datagramSize, this.rate * PACING_BURST_MS);
  }

  /** True when a packet may leave at `now`. */
  canSend(now: number): boolean {
    if (this.rate === Number.POSITIVE_INFINITY) return true;
    this.refill(now);
    return this.budget > -this.rate * SLACK_MS;
  }

  onSent(bytes: number): void {
    this.budget -= bytes;
  }

  /** When the next packet may leave (≤ now when it may leave already). */
  nextSendTime(now: number): number {
    if (this.rate === Number.POSITIVE_INFINITY) return now;
    this.refill(now);
    if (this.budget > -this.rate * SLACK_MS) return now;
    return now + Math.max(-this.budget / this.rate, SLACK_MS);
  }

  private refill(now: number): void {
    if (now > this.last) {
      const b = this.budget + (now - this.last) * this.rate;
      this.budget = Math.min(b, this.capacity);
      this.last = now;
    }
  }
}
