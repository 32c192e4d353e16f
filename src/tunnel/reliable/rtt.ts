/** Round-trip time estimation exactly as RFC 9002 §5. */
import { INITIAL_RTT_MS, TIME_THRESHOLD, TIMER_GRANULARITY_MS } from "./constants.js";

export class RttEstimator {
  /** Latest sample, ack delay not subtracted (the raw feel of the path right now). */
  latest = 0;
  /** Latest sample with the peer's ack delay removed where plausible. */
  latestAdjusted = 0;
  min = Number.POSITIVE_INFINITY;
  smoothed = INITIAL_RTT_MS;
  variance = INITIAL_RTT_MS / 2;
  hasSample = false;
  /** Number of samples taken (lets callers see whether an ACK produced one). */
  samples = 0;

  constructor(readonly maxAckDelayMs: number) {}

  /** `sample` is now − send time of the largest newly acknowledged packet; `ackDelay` as reported. */
  update(sample: number, ackDelay: number): void {
    if (sample < 0) sample = 0;
    this.samples++;
    this.latest = sample;
    if (sample < this.min) this.min = sample;
    const delay = Math.min(ackDelay, this.maxAckDelayMs);
    // Only subtract the ack delay when the result does not go below the minimum RTT.
    const adjusted = sample - delay >= this.min ? sample - delay : sample;
    this.latestAdjusted = adjusted;
    if (!this.hasSample) {
      this.hasSample = true;
      this.smoothed = adjusted;
      this.variance = adjusted / 2;
      return;
    }
    this.variance = 0.75 * this.variance + 0.25 * Math.abs(this.smoothed - adjusted);
    this.smoothed = 0.875 * this.smoothed + 0.125 * adjusted;
  }

  /** Probe timeout before backoff (RFC 9002 §6.2.1). */
  pto(): number {
    return this.smoothed + Math.max(4 * this.variance, TIMER_GRANULARITY_MS) + this.maxAckDelayMs;
  }

  /** How long after a packet was sent a later-acked packet lets us call it lost (§6.1.2). */
  lossDelay(threshold = TIME_THRESHOLD): number {
    return Math.max(threshold * Math.max(this.smoothed, this.latest), TIMER_GRANULARITY_MS);
  }
}
