/**
 * Datagram packetization layer PMTU discovery (RFC 8899), search only. Sizes are whole UDP
 * payloads (including the session's overhead). The search tries the configured maximum first
 * (on loopback that succeeds at once), then common ethernet sizes, then bisects between the
 * largest size known to work and the smallest known to fail. A size fails after PMTU_MAX_PROBES
 * lost probes; probe loss is never a congestion signal. A finished search below the maximum is
 * started again after PMTU_RAISE_INTERVAL_MS.
 */
import {
  PMTU_COMMON_SIZES,
  PMTU_MAX_PROBES,
  PMTU_RAISE_INTERVAL_MS,
  PMTU_SEARCH_GRANULARITY,
} from "./constants.js";

export class PmtuSearch {
  /** Largest datagram size confirmed to reach the peer. */
  current: number;
  /** Size of the probe in flight, or 0. */
  inFlight = 0;
  probesSent = 0;
  probesLost = 0;
  blackHoles = 0;
  private failed: number;
  private attempts = 0;
  private raiseAt = Number.POSITIVE_INFINITY;

  constructor(
    base: number,
    readonly max: number,
  ) {
    this.current = Math.min(base, max);
    this.failed = max + 1;
  }

  get searching(): boolean {
    return this.raiseAt === Number.POSITIVE_INFINITY && this.nextCandidate() > 0;
  }

  /** Size to probe at `now`, or 0 when no probe should be sent. */
  probeSize(now: number): number {
    if (this.inFlight > 0) return 0;
    if (now >= this.raiseAt) {
      this.raiseAt = Number.POSITIVE_INFINITY;
      this.failed = this.max + 1;
      this.attempts = 0;
    }
    if (this.raiseAt !== Number.POSITIVE_INFINITY) return 0;
    return this.nextCandidate();
  }

  onProbeSent(size: number): void {
    this.inFlight = size;
    this.probesSent++;
  }

  onProbeAcked(size: number, now: number): void {
    if (size === this.inFlight) this.inFlight = 0;
    if (size > this.current) this.current = size;
    if (this.failed <= this.current) this.failed = this.max + 1;
    this.attempts = 0;
    this.finishIfDone(now);
  }

  onProbeLost(size: number, now: number): void {
    if (size === this.inFlight) this.inFlight = 0;
    this.probesLost++;
    if (size <= this.current) return;
    if (++this.attempts >= PMTU_MAX_PROBES) {
      this.attempts = 0;
      if (size < this.failed) this.failed = size;
      this.finishIfDone(now);
    }
  }

  /** Packets of the current size stopped getting through: fall back to the base and search again. */
  onBlackHole(base: number): void {
    this.current = Math.min(base, this.max);
    this.inFlight = 0;
    this.failed = this.max + 1;
    this.attempts = 0;
    this.raiseAt = Number.POSITIVE_INFINITY;
    this.blackHoles++;
  }

  private nextCandidate(): number {
    const lo = this.current;
    const hi = this.failed;
    if (hi - lo <= PMTU_SEARCH_GRANULARITY) return 0;
    if (hi > this.max) return this.max;
    // Smallest common size first: each success is an immediate gain on typical paths.
    for (const s of PMTU_COMMON_SIZES) if (s > lo && s < hi) return s;
    return (lo + hi) >> 1;
  }

  private finishIfDone(now: number): void {
    if (this.nextCandidate() === 0 && this.current < this.max) this.raiseAt = now + PMTU_RAISE_INTERVAL_MS;
  }
}
