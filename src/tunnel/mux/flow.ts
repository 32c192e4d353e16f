/**
 * Receive-window auto-tuning for one stream (the idea of quic-go's flow controller, our own code).
 * The peer may send `window` bytes beyond what we last acknowledged. When the reader has consumed
 * half a window we grant credit again; if that half window took less than two round trips to
 * consume, the window (not the reader) limits throughput, so it doubles, up to a cap and within
 * a session-wide budget.
 */

export interface WindowBudget {
  /** Sum of the receive windows of all live streams. */
  total: number;
  readonly max: number;
}

export class ReceiveWindow {
  /** Bytes the peer may still send before overrunning the window. */
  credit: number;
  /** Bytes consumed by the reader and not yet granted back to the peer. */
  private unacked = 0;
  /** When the current half-window epoch began (last grant). */
  private epochStart: number;

  constructor(
    public window: number,
    private readonly maxWindow: number,
    private readonly budget: WindowBudget,
    now: number,
  ) {
    this.credit = window;
    this.epochStart = now;
    budget.total += window;
  }

  /** Accounts for `n` received bytes; false if they overrun the window (a protocol violation). */
  receive(n: number): boolean {
    if (n > this.credit) return false;
    this.credit -= n;
    return true;
  }

  /**
   * Accounts for `n` bytes the reader consumed. Returns the credit to grant in a WINDOW_UPDATE,
   * or 0 when it is not yet worth a frame.
   */
  consume(n: number, now: number, rttMs: number): number {
    this.unacked += n;
    if (this.unacked < this.window / 2) return 0;
    let grow = 0;
    if (rttMs > 0 && now - this.epochStart < 2 * rttMs && this.window < this.maxWindow) {
      grow = Math.min(this.window, this.maxWindow - this.window, this.budget.max - this.budget.total);
      if (grow < 0) grow = 0;
    }
    this.window += grow;
    this.budget.total += grow;
    const delta = this.unacked + grow;
    this.unacked = 0;
    this.credit += delta;
    this.epochStart = now;
    return delta;
  }

  /** The stream is gone: return its window to the session budget. */
  release(): void {
    this.budget.total -= this.window;
    this.window = 0;
  }
}
