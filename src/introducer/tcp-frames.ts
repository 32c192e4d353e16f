/**
 * Splits a TCP byte stream into `[length u16][packet]` frames. A zero or oversized length is a
 * framing error: the stream cannot be resynchronised, so the caller closes the connection.
 */
import { type Datagram, datagramLength } from "../wire/datagram.js";

export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxFrame: number) {}

  /** Appends `chunk`; returns the complete frames, or null on a framing error. */
  push(chunk: Buffer): Buffer[] | null {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Buffer[] = [];
    let at = 0;
    while (this.buf.length - at >= 2) {
      const len = this.buf.readUInt16BE(at);
      if (len === 0 || len > this.maxFrame) return null;
      if (this.buf.length - at - 2 < len) break;
      frames.push(this.buf.subarray(at + 2, at + 2 + len));
      at += 2 + len;
    }
    // Copy the unfinished tail so frames handed out never alias a buffer we keep appending to.
    this.buf = Buffer.from(this.buf.subarray(at));
    return frames;
  }
}

/** One frame: the length, then the packet's bytes (its pieces joined, see Datagram). */
export function frame(packet: Datagram): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(datagramLength(packet));
  return Buffer.concat(Buffer.isBuffer(packet) ? [head, packet] : [head, ...packet]);
}
