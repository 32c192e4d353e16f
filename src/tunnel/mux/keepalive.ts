/**
 * Mux keepalive and RTT, as plain state: when to PING, when the peer counts as gone, and the
 * smoothed RTT from PONGs. The core owns the frames; this only keeps the clocks.
 */
export type KeepaliveDue = "ping" | "timeout" | null;

export class Keepalive {
  /** Smoothed round-trip time; 0 until the first PONG. */
  srttMs = 0;
  private seq = 0;
  private outstanding: { seq: number; sentAt: number } | null = null;
  private lastPingAt: number;
  private lastRxAt: number;

  constructor(
    /** 0 disables the timer (PINGs can still be sent by hand). */
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    now: number,
  ) {
    this.lastPingAt = now;
    this.lastRxAt = now;
  }

  /** Anything at all arrived from the peer. */
  received(now: number): void {
    this.lastRxAt = now;
  }

  /** A PING is going out; returns its sequence number for the body. */
  pingSent(now: number): number {
    this.seq = (this.seq + 1) >>> 0;
    this.outstanding = { seq: this.seq, sentAt: now };
    this.lastPingAt = now;
    return this.seq;
  }

  /** A PONG arrived; false if it answers no PING we are waiting for. */
  pong(seq: number, now: number): boolean {
    const p = this.outstanding;
    if (!p || p.seq !== seq) return false;
    this.outstanding = null;
    const sample = Math.max(0, now - p.sentAt);
    this.srttMs = this.srttMs === 0 ? sample : (7 * this.srttMs + sample) / 8;
    return true;
  }

  /** True when no PING is in flight and none was sent for `minIntervalMs`. */
  canProbe(now: number, minIntervalMs: number): boolean {
    return this.outstanding === null && now - this.lastPingAt >= minIntervalMs;
  }

  /** When `due` next needs asking, or null for never. */
  nextAt(): number | null {
    if (this.intervalMs <= 0) return null;
    const nextPing = this.lastPingAt + this.intervalMs;
    return this.outstanding ? Math.min(nextPing, this.lastRxAt + this.timeoutMs) : nextPing;
  }

  /**
   * What the timer should do now. Silence is measured from the last byte received, not the last
   * PONG: behind megabytes of queued data a PONG can be late while the peer is clearly alive.
   */
  due(now: number): KeepaliveDue {
    if (this.intervalMs <= 0) return null;
    if (this.outstanding && now - this.lastRxAt >= this.timeoutMs) return "timeout";
    return now - this.lastPingAt >= this.intervalMs ? "ping" : null;
  }

  silentFor(now: number): number {
    return now - this.lastRxAt;
  }
}
