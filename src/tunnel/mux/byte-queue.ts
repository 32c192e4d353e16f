/** A FIFO of buffers that hands out byte ranges as views, never copying. */
export class ByteQueue {
  private items: Buffer[] = [];
  private head = 0;
  /** Total bytes queued. */
  length = 0;

  push(buf: Buffer): void {
    if (buf.length === 0) return;
    this.items.push(buf);
    this.length += buf.length;
  }

  /** Moves exactly `n` bytes (n <= length) to `out` as one or more views. */
  takeInto(n: number, out: Buffer[]): void {
    this.length -= n;
    while (n > 0) {
      const b = this.items[this.head];
      if (b.length <= n) {
        out.push(b);
        n -= b.length;
        this.items[this.head++] = EMPTY;
      } else {
        out.push(b.subarray(0, n));
        this.items[this.head] = b.subarray(n);
        n = 0;
      }
    }
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 64) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.length = 0;
  }
}

const EMPTY = Buffer.alloc(0);
