/**
 * The receiving side of the byte stream: reassembles STREAM data by offset and hands it out in
 * order, without copying (delivered Buffers are views into the received datagrams). It also
 * owns connection flow control: the peer may send up to `maxData`, which moves forward by a
 * full window once the application has read half of it, so a reader that stops reading stops
 * the sender and bounds this buffer to one window.
 */
import { INITIAL_MAX_DATA } from "./constants.js";

interface Segment {
  offset: number;
  data: Buffer;
}

export class RecvBuffer {
  /** Bytes handed to the readable queue (contiguous from 0). */
  deliveredOffset = 0;
  /** Bytes the application has taken with read(). */
  readOffset = 0;
  /** Flow-control limit we last advertised (the peer may send bytes below it). */
  maxData: number;
  /** A larger limit should be sent to the peer. */
  maxDataPending: boolean;
  /** Frames dropped because they went past the advertised limit. */
  flowControlViolations = 0;
  duplicateBytes = 0;

  private readable: Buffer[] = [];
  private readHead = 0;
  private outOfOrder: Segment[] = [];
  private readonly window: number;

  constructor(window: number) {
    this.window = Math.max(window, INITIAL_MAX_DATA);
    this.maxData = INITIAL_MAX_DATA;
    // A window larger than the protocol's initial credit is announced at once.
    this.maxDataPending = this.window > INITIAL_MAX_DATA;
    if (this.maxDataPending) this.maxData = this.window;
  }

  /** Bytes held: delivered but unread, plus out-of-order segments. */
  get bufferedBytes(): number {
    let n = this.deliveredOffset - this.readOffset;
    for (const s of this.outOfOrder) n += s.data.length;
    return n;
  }

  /** Handles one STREAM frame. Returns false when it was dropped for exceeding the limit. */
  onStream(offset: number, data: Buffer): boolean {
    const end = offset + data.length;
    if (end > this.maxData) {
      this.flowControlViolations++;
      return false;
    }
    if (end <= this.deliveredOffset) {
      this.duplicateBytes += data.length;
      return true;
    }
    if (offset <= this.deliveredOffset) {
      this.deliver(data.subarray(this.deliveredOffset - offset));
      if (this.outOfOrder.length > 0) this.drainOutOfOrder();
      return true;
    }
    this.insertOutOfOrder(offset, data);
    return true;
  }

  /** Next delivered chunk, or null. */
  read(): Buffer | null {
    if (this.readHead >= this.readable.length) return null;
    const chunk = this.readable[this.readHead] as Buffer;
    this.readable[this.readHead++] = EMPTY;
    if (this.readHead === this.readable.length) {
      this.readable.length = 0;
      this.readHead = 0;
    } else if (this.readHead > 1024 && this.readHead * 2 > this.readable.length) {
      this.readable = this.readable.slice(this.readHead);
      this.readHead = 0;
    }
    this.readOffset += chunk.length;
    // Credit the peer again once half the window is used up.
    if (this.maxData - this.readOffset < this.window / 2) {
      this.maxData = this.readOffset + this.window;
      this.maxDataPending = true;
    }
    return chunk;
  }

  private deliver(data: Buffer): void {
    if (data.length === 0) return;
    this.readable.push(data);
    this.deliveredOffset += data.length;
  }

  private insertOutOfOrder(offset: number, data: Buffer): void {
    const segs = this.outOfOrder;
    // Binary search for the first segment at or after `offset`; appends are the common case.
    let lo = 0;
    let hi = segs.length;
    if (hi > 0 && segs[hi - 1].offset < offset) lo = hi;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (segs[mid].offset < offset) lo = mid + 1;
      else hi = mid;
    }
    const same = segs[lo];
    if (same !== undefined && same.offset === offset) {
      if (same.data.length >= data.length) {
        this.duplicateBytes += data.length;
      } else {
        same.data = data;
      }
      return;
    }
    segs.splice(lo, 0, { offset, data });
  }

  private drainOutOfOrder(): void {
    const segs = this.outOfOrder;
    let k = 0;
    while (k < segs.length && segs[k].offset <= this.deliveredOffset) {
      const s = segs[k++];
      const end = s.offset + s.data.length;
      if (end > this.deliveredOffset) this.deliver(s.data.subarray(this.deliveredOffset - s.offset));
      else this.duplicateBytes += s.data.length;
    }
    if (k > 0) segs.splice(0, k);
  }
}

const EMPTY = Buffer.alloc(0);
