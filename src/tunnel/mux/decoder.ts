/**
 * Streaming frame decoder: fed chunks of the byte stream in any split, yields whole frames. A body
 * that lies inside one chunk is returned as a view of it (no copy); only bodies split across
 * chunks are gathered into a new buffer. After the first bad header the decoder stops for good:
 * on a byte stream there is no way to find the next frame boundary.
 */
import { FrameType, HEADER_SIZE, MAX_CONTROL_BODY } from "./constants.js";
import type { Frame } from "./frame.js";

const KNOWN_TYPES = new Set<number>(Object.values(FrameType));

export class FrameDecoder {
  /** Set once the stream is known to be malformed; `next()` then always returns null. */
  error: string | null = null;
  private chunks: Buffer[] = [];
  private head = 0;
  private offset = 0;
  private buffered = 0;
  private pending: { type: number; flags: number; streamId: number; length: number } | null = null;
  private readonly scratch = Buffer.alloc(HEADER_SIZE);

  constructor(private readonly maxDataBody: number) {}

  push(chunk: Buffer): void {
    if (this.error || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** Bytes received but not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** The next complete frame, or null when more bytes are needed (or `error` is set). */
  next(): Frame | null {
    if (this.error) return null;
    if (!this.pending) {
      if (this.buffered < HEADER_SIZE) return null;
      const h = this.take(HEADER_SIZE, this.scratch);
      const type = h[0];
      const length = h.readUInt32BE(6);
      if (!KNOWN_TYPES.has(type)) return this.fail(`unknown frame type 0x${type.toString(16)}`);
      const limit = type === FrameType.DATA ? this.maxDataBody : MAX_CONTROL_BODY;
      if (length > limit) return this.fail(`frame body of ${length} bytes exceeds ${limit}`);
      this.pending = { type, flags: h[1], streamId: h.readUInt32BE(2), length };
    }
    const p = this.pending;
    if (this.buffered < p.length) return null;
    this.pending = null;
    const body = this.take(p.length, null);
    return { type: p.type, flags: p.flags, streamId: p.streamId, body };
  }

  private fail(error: string): null {
    this.error = error;
    this.chunks = [];
    this.head = 0;
    this.offset = 0;
    this.buffered = 0;
    return null;
  }

  /**
   * Removes `n` buffered bytes (the caller checked they exist). Returns a view when they sit in
   * one chunk, else copies them into `into` (or a new buffer).
   */
  private take(n: number, into: Buffer | null): Buffer {
    this.buffered -= n;
    const first = this.chunks[this.head];
    if (n === 0) return Buffer.alloc(0);
    if (first.length - this.offset >= n) {
      const view = first.subarray(this.offset, this.offset + n);
      this.offset += n;
      if (this.offset === first.length) this.dropHead();
      return view;
    }
    const out = into ?? Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[this.head];
      const m = Math.min(n - filled, c.length - this.offset);
      c.copy(out, filled, this.offset, this.offset + m);
      filled += m;
      this.offset += m;
      if (this.offset === c.length) this.dropHead();
    }
    return out;
  }

  private dropHead(): void {
    this.chunks[this.head] = EMPTY;
    this.head++;
    this.offset = 0;
    // Compact now and then so the array does not grow without bound.
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.head = 0;
    } else if (this.head > 64) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}

const EMPTY = Buffer.alloc(0);
