/**
 * Receiver-side acknowledgement state (RFC 9000 §13.2): which packet numbers arrived, and when
 * an ACK is owed. An ACK is sent at once after ACK_ELICITING_THRESHOLD ack-eliciting packets or
 * when packets arrive out of order (so the sender's loss detection reacts quickly); otherwise
 * within max_ack_delay.
 */
import { ACK_ELICITING_THRESHOLD, MAX_TRACKED_RANGES } from "./constants.js";
import { RangeSet } from "./range-set.js";

export class AckTracker {
  /** Received packet numbers (half-open ranges). */
  readonly received = new RangeSet();
  largest = -1;
  /** When the largest packet number arrived (for the ack delay field). */
  largestTime = 0;
  /** An ACK should go out with the next packet we send, whatever its reason. */
  ackNow = false;
  /** Deadline for a delayed ACK, or Infinity when none is owed. */
  ackDeadline = Number.POSITIVE_INFINITY;
  duplicates = 0;
  private unackedEliciting = 0;

  constructor(
    private readonly maxAckDelayMs: number,
    private readonly threshold = ACK_ELICITING_THRESHOLD,
  ) {}

  /** An ACK is owed (now or later). */
  get pending(): boolean {
    return this.unackedEliciting > 0;
  }

  /**
   * Records a packet. Returns false for a duplicate (or one older than anything remembered);
   * its frames are still safe to process, every frame being idempotent.
   */
  onPacket(pn: number, ackEliciting: boolean, now: number): boolean {
    const received = this.received;
    if (received.has(pn) || (received.count > 0 && pn < received.min)) {
      // Re-ACK an ack-eliciting duplicate: the sender may have missed our ACK.
      this.duplicates++;
      if (ackEliciting) {
        this.unackedEliciting++;
        this.ackNow = true;
      }
      return false;
    }
    received.add(pn, pn + 1);
    if (received.count > MAX_TRACKED_RANGES) received.keepHighest(MAX_TRACKED_RANGES);
    if (pn > this.largest) {
      // A gap before this packet means something was lost or reordered: tell the sender now.
      if (this.largest >= 0 && pn !== this.largest + 1) this.ackNow = true;
      this.largest = pn;
      this.largestTime = now;
    } else {
      this.ackNow = true; // a late packet fills a gap
    }
    if (ackEliciting) {
      this.unackedEliciting++;
      if (this.unackedEliciting >= this.threshold) this.ackNow = true;
      else if (this.ackDeadline === Number.POSITIVE_INFINITY) this.ackDeadline = now + this.maxAckDelayMs;
    }
    return true;
  }

  /** True when an ACK must be sent at `now` even if nothing else is. */
  due(now: number): boolean {
    return this.unackedEliciting > 0 && (this.ackNow || now >= this.ackDeadline);
  }

  /** Ack delay to report, in microseconds. */
  delayUs(now: number): number {
    return Math.max(0, Math.round((now - this.largestTime) * 1000));
  }

  /** An ACK frame was sent. */
  onAckSent(): void {
    this.unackedEliciting = 0;
    this.ackNow = false;
    this.ackDeadline = Number.POSITIVE_INFINITY;
  }

  /** The peer acknowledged one of our ACKs covering up to `largestAcked`: stop repeating older ranges. */
  onAckAcked(largestAcked: number): void {
    this.received.removeBelow(largestAcked);
  }
}
