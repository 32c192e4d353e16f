/**
 * The sending side of the byte stream: bytes written and not yet acknowledged, kept as the
 * caller's own Buffers (no copy on write; the channel owns them from then on). Tracks what was
 * never sent, what must be sent again, and what the peer acknowledged; chunks are released as
 * soon as every byte in them is acknowledged.
 */
import { RangeSet } from "./range-set.js";

export class SendBuffer {
  /** One past the last byte written. */
  writeOffset = 0;
  /** First byte never sent. */
  sendOffset = 0;
  /** Every byte below this is acknowledged. */
  ackedFloor = 0;
  /** Byte ranges declared lost (or chosen as probes) waiting to be sent again. */
  readonly lost = new RangeSet();
  /** Start offset of the range returned by the last `takeRetransmit`. */
  takenOffset = 0;

  private chunks: (Buffer | undefined)[] = [];
  private starts: number[] = [];
  private head = 0;
  /** Acknowledged ranges above ackedFloor (holes are in flight or lost). */
  private acked = new RangeSet();

  /** Bytes held: written and not yet acknowledged. */
  get buffered(): number {
    return this.writeOffset - this.ackedFloor;
  }

  get unsent(): number {
    return this.writeOffset - this.sendOffset;
  }

  write(data: Buffer): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.starts.push(this.writeOffset);
    this.writeOffset += data.length;
  }

  onAcked(offset: number, len: number): void {
    const end = offset + len;
    if (end <= this.ackedFloor) return;
    if (offset > this.ackedFloor) {
      this.acked.add(offset, end);
      return;
    }
    this.ackedFloor = end;
    // Absorb acknowledged ranges that now touch the floor.
    const acked = this.acked;
    while (!acked.isEmpty && acked.min <= this.ackedFloor) {
      if (acked.r[1] > this.ackedFloor) this.ackedFloor = acked.r[1];
      acked.r.splice(0, 2);
    }
    this.release();
  }

  /** Queues [offset, offset+len) for retransmission, minus what is already acknowledged. */
  onLost(offset: number, len: number): void {
    const start = Math.max(offset, this.ackedFloor);
    const end = offset + len;
    if (start >= end) return;
    this.lost.add(start, end);
    if (!this.acked.isEmpty) {
      const a = this.acked.r;
      for (let i = 0; i < a.length && a[i] < end; i += 2) this.lost.remove(a[i], a[i + 1]);
    }
  }

  /**
   * Takes up to `maxLen` bytes of the lowest range waiting for retransmission; returns the length
   * (0 when none) and sets `takenOffset`.
   */
  takeRetransmit(maxLen: number): number {
    const lost = this.lost;
    if (lost.min < this.ackedFloor) lost.removeBelow(this.ackedFloor);
    if (lost.isEmpty || maxLen <= 0) return 0;
    const start = lost.r[0];
    const len = Math.min(lost.r[1] - start, maxLen);
    lost.remove(start, start + len);
    this.takenOffset = start;
    return len;
  }

  /** Marks the next `len` never-sent bytes as sent; returns their offset. */
  takeNew(len: number): number {
    const offset = this.sendOffset;
    this.sendOffset += len;
    return offset;
  }

  /** Copies stream bytes [offset, offset+len) into `dst` at `pos`. */
  copy(offset: number, len: number, dst: Buffer, pos: number): void {
    let i = this.findChunk(offset);
    let from = offset - this.starts[i];
    while (len > 0) {
      const chunk = this.chunks[i] as Buffer;
      const n = Math.min(chunk.length - from, len);
      chunk.copy(dst, pos, from, from + n);
      pos += n;
      len -= n;
      from = 0;
      i++;
    }
  }

  /** Drops everything (the channel closed or died). */
  discard(): void {
    this.chunks = [];
    this.starts = [];
    this.head = 0;
    this.ackedFloor = this.sendOffset = this.writeOffset;
    this.lost.clear();
    this.acked.clear();
  }

  private findChunk(offset: number): number {
    const starts = this.starts;
    let lo = this.head;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private release(): void {
    const chunks = this.chunks;
    const starts = this.starts;
    let h = this.head;
    while (h < chunks.length && starts[h] + (chunks[h] as Buffer).length <= this.ackedFloor) {
      chunks[h] = undefined;
      h++;
    }
    this.head = h;
    if (h > 1024 && h * 2 > chunks.length) {
      this.chunks = chunks.slice(h);
      this.starts = starts.slice(h);
      this.head = 0;
    }
  }
}
