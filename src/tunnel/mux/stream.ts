/**
 * One mux stream as a Node Duplex. Backpressure both ways:
 * - writing: a write completes only once the stream's queue in the core is below the send buffer
 *   limit, so with no credit from the peer `write()` starts returning false after
 *   (send buffer + highWaterMark) bytes;
 * - reading: received bytes wait here until `_read` asks for them; only bytes handed to the
 *   Readable count as consumed, and only consumed bytes are granted back to the peer as credit.
 */
import { Duplex } from "node:stream";
import { RESET } from "./codes.js";

/** What a stream needs from its session. */
export interface StreamHost {
  write(id: number, chunk: Buffer): void;
  finish(id: number): void;
  /** Calls `cb` once the stream's queued bytes are below the send buffer limit. */
  whenWritable(id: number, cb: () => void): void;
  consumed(id: number, n: number): void;
  /** Reset unless both directions already finished cleanly. */
  release(id: number, code: number, reason: string): void;
  /** Reset unconditionally. */
  reset(id: number, code: number, reason: string): void;
}

export const STREAM_HIGH_WATER_MARK = 64 * 1024;

export class MuxStream extends Duplex {
  private inbox: Buffer[] = [];
  private inboxHead = 0;
  private inboxBytes = 0;
  private remoteEnded = false;
  private endPushed = false;
  private wantRead = false;
  private draining = false;

  constructor(
    private readonly host: StreamHost,
    readonly id: number,
    /** The `host:port` the opener asked for. */
    readonly target: string,
  ) {
    super({
      allowHalfOpen: true,
      readableHighWaterMark: STREAM_HIGH_WATER_MARK,
      writableHighWaterMark: STREAM_HIGH_WATER_MARK,
    });
  }

  /** Received bytes not yet handed to the reader (bounded by the receive window). */
  get bufferedIn(): number {
    return this.inboxBytes;
  }

  /**
   * Aborts the stream with a specific reset code (e.g. `RESET.CONNECTION_RESET` when the target
   * socket was reset) and destroys it locally without an error.
   */
  reset(code: number, reason: string): void {
    if (this.destroyed) return;
    this.host.reset(this.id, code, reason);
    this.destroy();
  }

  /** Session side: bytes arrived. */
  deliver(data: Buffer): void {
    this.inbox.push(data);
    this.inboxBytes += data.length;
    if (this.wantRead) this.drainInbox();
  }

  /** Session side: the peer sent FIN. */
  deliverEnd(): void {
    this.remoteEnded = true;
    if (this.wantRead) this.drainInbox();
  }

  override _read(): void {
    this.wantRead = true;
    this.drainInbox();
  }

  private drainInbox(): void {
    if (this.draining || this.destroyed) return;
    this.draining = true;
    let moved = 0;
    while (this.wantRead && this.inboxHead < this.inbox.length) {
      const b = this.inbox[this.inboxHead];
      this.inbox[this.inboxHead++] = EMPTY;
      moved += b.length;
      if (!this.push(b)) this.wantRead = false;
      // push() can run a 'data' handler synchronously, and that handler may destroy us.
      if (this.destroyed) {
        this.draining = false;
        return;
      }
    }
    if (this.inboxHead === this.inbox.length) {
      this.inbox.length = 0;
      this.inboxHead = 0;
    } else if (this.inboxHead > 256) {
      this.inbox = this.inbox.slice(this.inboxHead);
      this.inboxHead = 0;
    }
    this.inboxBytes -= moved;
    this.draining = false;
    if (moved > 0) this.host.consumed(this.id, moved);
    if (this.remoteEnded && this.inboxBytes === 0 && !this.endPushed) {
      this.endPushed = true;
      this.push(null);
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.host.write(this.id, chunk);
    this.host.whenWritable(this.id, cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    for (const c of chunks) this.host.write(this.id, c.chunk);
    this.host.whenWritable(this.id, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.host.finish(this.id);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const code = resetCodeOf(err);
    this.host.release(this.id, code, err ? err.message : "stream destroyed");
    this.inbox = [];
    this.inboxHead = 0;
    this.inboxBytes = 0;
    cb(err);
  }
}

/** An error may carry its own reset code (`resetCode`), else: no error = CANCELLED, error = INTERNAL. */
function resetCodeOf(err: Error | null): number {
  if (!err) return RESET.CANCELLED;
  const code = (err as { resetCode?: unknown }).resetCode;
  return typeof code === "number" && Number.isInteger(code) && code >= 0 && code <= 0xffff
    ? code
    : RESET.INTERNAL;
}

const EMPTY = Buffer.alloc(0);
