/**
 * Congestion control: NewReno (RFC 9002 §7) in bytes, with a delay gate on loss response.
 *
 * Why NewReno and not CUBIC: on the paths this tunnel cares most about (loopback, LAN) the
 * bandwidth-delay product is tiny and the growth curve hardly matters; what matters is not
 * collapsing under random loss. That comes from the gate, not from the growth function:
 * a loss event reduces the window only when the RTT shows a standing queue
 * (latest RTT > min RTT + clamp(minRtt/4, 2 ms, 16 ms)) or when the recent loss rate is high
 * (> 20 %). Random loss on an uncongested path therefore costs retransmissions, not window.
 * A full drop-tail queue both loses packets and inflates the RTT, so real congestion still
 * shrinks (×0.7) the window — the idea of TCP Veno/Westwood, simplified.
 *
 * Slow start ends early on a rising RTT (HyStart, RFC 9406, without its conservative phase),
 * so a deep bottleneck queue is not filled to overflowing before the first loss.
 */
import {
  HIGH_LOSS_FRACTION,
  HYSTART_DELAY_DIVISOR,
  HYSTART_DELAY_MAX_MS,
  HYSTART_DELAY_MIN_MS,
  HYSTART_MIN_SAMPLES,
  INITIAL_WINDOW_FLOOR_BYTES,
  INITIAL_WINDOW_PACKETS,
  LOSS_REDUCTION_FACTOR,
  MIN_WINDOW_PACKETS,
  QUEUE_DELAY_FRACTION,
  QUEUE_DELAY_MAX_MS,
  QUEUE_DELAY_MIN_MS,
} from "./constants.js";
import type { RttEstimator } from "./rtt.js";

/** Weight of one packet outcome in the loss-rate moving average. */
const LOSS_EWMA_WEIGHT = 1 / 32;

export class CongestionController {
  cwnd: number;
  ssthresh = Number.POSITIVE_INFINITY;
  bytesInFlight = 0;
  /** Send time at which the current recovery period began; earlier losses are not new events. */
  recoveryStart = Number.NEGATIVE_INFINITY;
  /** Moving average of the fraction of packets lost. */
  lossRate = 0;
  congestionEvents = 0;
  persistentCongestionEvents = 0;
  /** Loss events judged random (no queueing delay, low loss rate) and not reacted to. */
  ignoredLossEvents = 0;
  /** Times slow start ended on delay rather than loss. */
  hystartExits = 0;
  /** Window reductions undone because every loss behind them proved spurious. */
  undoneReductions = 0;
  // Undo state of the last reduction: the window before it and the packets that caused it.
  private undoCwnd = 0;
  private undoSsthresh = 0;
  private eventLowPn = 0;
  private eventHighPn = -1;
  private eventLost = 0;
  private eventSpurious = 0;
  private datagramSize: number;
  private caAccumulator = 0;
  // HyStart round state: a round ends when a packet sent after it began is acknowledged.
  private roundEndPn = -1;
  private roundMinRtt = Number.POSITIVE_INFINITY;
  private lastRoundMinRtt = Number.POSITIVE_INFINITY;
  private roundSamples = 0;

  constructor(datagramSize: number) {
    this.datagramSize = datagramSize;
    this.cwnd = initialWindow(datagramSize);
  }

  get minWindow(): number {
    return MIN_WINDOW_PACKETS * this.datagramSize;
  }

  get inSlowStart(): boolean {
    return this.cwnd < this.ssthresh;
  }

  /** PMTU changed: windows are counted in bytes, only the floor and the CA step move. */
  setDatagramSize(size: number): void {
    this.datagramSize = size;
    if (this.cwnd < this.minWindow) this.cwnd = this.minWindow;
  }

  onSent(bytes: number): void {
    this.bytesInFlight += bytes;
  }

  /** A packet counted in flight was acknowledged. `cwndLimited`: were we using the window? */
  onAcked(bytes: number, timeSent: number, cwndLimited: boolean): void {
    this.bytesInFlight -= bytes;
    this.lossRate -= this.lossRate * LOSS_EWMA_WEIGHT;
    if (timeSent <= this.recoveryStart || !cwndLimited) return;
    if (this.cwnd < this.ssthresh) {
      this.cwnd += bytes;
      return;
    }
    this.caAccumulator += bytes;
    if (this.caAccumulator >= this.cwnd) {
      this.caAccumulator -= this.cwnd;
      this.cwnd += this.datagramSize;
    }
  }

  /**
   * After an ACK that produced an RTT sample: `largestAcked` and `nextPn` delimit HyStart rounds.
   */
  onRttSample(sample: number, largestAcked: number, nextPn: number): void {
    if (this.cwnd >= this.ssthresh) return;
    if (largestAcked >= this.roundEndPn) {
      this.lastRoundMinRtt = this.roundMinRtt;
      this.roundMinRtt = Number.POSITIVE_INFINITY;
      this.roundSamples = 0;
      this.roundEndPn = nextPn;
    }
    if (sample < this.roundMinRtt) this.roundMinRtt = sample;
    this.roundSamples++;
    if (this.roundSamples < HYSTART_MIN_SAMPLES || this.lastRoundMinRtt === Number.POSITIVE_INFINITY) return;
    const eta = Math.min(
      Math.max(this.lastRoundMinRtt / HYSTART_DELAY_DIVISOR, HYSTART_DELAY_MIN_MS),
      HYSTART_DELAY_MAX_MS,
    );
    if (this.roundMinRtt >= this.lastRoundMinRtt + eta) {
      this.ssthresh = this.cwnd;
      this.hystartExits++;
    }
  }

  /** A packet counted in flight was declared lost. */
  onLost(bytes: number): void {
    this.bytesInFlight -= bytes;
    this.lossRate += (1 - this.lossRate) * LOSS_EWMA_WEIGHT;
  }

  /** A packet stopped counting in flight for another reason (e.g. the channel gave up on it). */
  onDiscarded(bytes: number): void {
    this.bytesInFlight -= bytes;
  }

  /**
   * After a batch of `count` losses with packet numbers in [lowPn, highPn]; `lastLostSent` is the
   * send time of the newest. Starts a recovery period when the loss looks like congestion.
   */
  onLossEvent(
    lastLostSent: number,
    now: number,
    rtt: RttEstimator,
    lowPn: number,
    highPn: number,
    count: number,
  ): void {
    if (lastLostSent <= this.recoveryStart) return;
    if (!this.looksCongestive(rtt)) {
      this.ignoredLossEvents++;
      return;
    }
    this.congestionEvents++;
    this.undoCwnd = this.cwnd;
    this.undoSsthresh = this.ssthresh;
    this.eventLowPn = lowPn;
    this.eventHighPn = highPn;
    this.eventLost = count;
    this.eventSpurious = 0;
    this.recoveryStart = now;
    this.ssthresh = Math.max(this.cwnd * LOSS_REDUCTION_FACTOR, this.minWindow);
    this.cwnd = this.ssthresh;
    this.caAccumulator = 0;
  }

  /**
   * Packets declared lost were acknowledged after all. When that covers every loss behind the
   * last reduction, the reduction was a reordering artefact: restore the window (like Linux's
   * undo after DSACK).
   */
  onSpuriousLoss(pns: readonly number[]): void {
    if (this.undoCwnd === 0) return;
    for (let i = 0; i < pns.length; i++) {
      if (pns[i] >= this.eventLowPn && pns[i] <= this.eventHighPn) this.eventSpurious++;
    }
    if (this.eventSpurious < this.eventLost) return;
    this.cwnd = Math.max(this.cwnd, this.undoCwnd);
    this.ssthresh = Math.max(this.ssthresh, this.undoSsthresh);
    this.undoCwnd = 0;
    this.undoneReductions++;
  }

  /** RFC 9002 §7.6: everything sent over a long span was lost — start again from the floor. */
  onPersistentCongestion(now: number): void {
    this.persistentCongestionEvents++;
    this.undoCwnd = 0;
    this.recoveryStart = now;
    this.ssthresh = Math.max(this.cwnd * LOSS_REDUCTION_FACTOR, this.minWindow);
    this.cwnd = this.minWindow;
    this.caAccumulator = 0;
  }

  private looksCongestive(rtt: RttEstimator): boolean {
    if (this.lossRate > HIGH_LOSS_FRACTION) return true;
    if (!rtt.hasSample) return true;
    const threshold = Math.min(
      Math.max(rtt.min * QUEUE_DELAY_FRACTION, QUEUE_DELAY_MIN_MS),
      QUEUE_DELAY_MAX_MS,
    );
    return rtt.latestAdjusted > rtt.min + threshold;
  }
}

export function initialWindow(datagramSize: number): number {
  return Math.min(
    INITIAL_WINDOW_PACKETS * datagramSize,
    Math.max(INITIAL_WINDOW_FLOOR_BYTES, 2 * datagramSize),
  );
}
