import { EventEmitter } from "node:events";

/**
 * An ordered, reliable byte stream between two peers: the reliable UDP channel, the decrypted TCP
 * stream, or an in-memory pipe in tests. The mux runs on top of it. Writes are not copied, so a
 * caller must not modify a buffer after handing it to `write`.
 */
export interface ByteChannel {
  /** Queues bytes; `false` means the caller should back off until `drain`. */
  write(data: Buffer): boolean;
  on(event: "data", fn: (data: Buffer) => void): this;
  on(event: "drain", fn: () => void): this;
  on(event: "close", fn: (reason?: string) => void): this;
  /** Delivers what was already written, then closes both ends; `close` fires once on each end. */
  close(reason?: string): void;
}

export interface MemoryPipeOptions {
  /** Largest chunk delivered in one `data` event; writes are split so decoders see odd chunkings. */
  chunk?: number;
  /** Bytes in flight towards the other end above which `write` returns false. */
  highWaterMark?: number;
}

const DEFAULT_CHUNK = 64 * 1024;
const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;

/** One end of a memory pipe. Delivery is asynchronous (setImmediate), like a socket's. */
class MemoryChannel extends EventEmitter implements ByteChannel {
  peer!: MemoryChannel;
  /** Bytes written by this end that the peer has not yet received. */
  private outbox: Buffer[] = [];
  private outboxBytes = 0;
  private deliveryScheduled = false;
  private closing: { reason?: string } | null = null;
  private closed = false;
  private wantDrain = false;

  constructor(
    private readonly chunk: number,
    private readonly highWaterMark: number,
  ) {
    super();
  }

  write(data: Buffer): boolean {
    if (this.closing || this.closed) return false;
    if (data.length > 0) {
      this.outbox.push(data);
      this.outboxBytes += data.length;
      this.scheduleDelivery();
    }
    const ok = this.outboxBytes < this.highWaterMark;
    if (!ok) this.wantDrain = true;
    return ok;
  }

  close(reason?: string): void {
    if (this.closing || this.closed) return;
    this.closing = { reason };
    this.scheduleDelivery();
  }

  private scheduleDelivery(): void {
    if (this.deliveryScheduled) return;
    this.deliveryScheduled = true;
    setImmediate(() => this.deliver());
  }

  /**
   * Moves up to one high-water mark (at least one chunk) of queued bytes to the peer, in
   * `chunk`-sized pieces; the rest follows on later turns of the event loop, like a link would.
   */
  private deliver(): void {
    this.deliveryScheduled = false;
    let budget = Math.max(this.highWaterMark, this.chunk);
    while (this.outbox.length > 0 && budget > 0 && !this.peer.closed) {
      const head = this.outbox[0];
      const n = Math.min(head.length, this.chunk, budget);
      const piece = n === head.length ? head : head.subarray(0, n);
      if (n === head.length) this.outbox.shift();
      else this.outbox[0] = head.subarray(n);
      this.outboxBytes -= n;
      budget -= n;
      this.peer.emit("data", piece);
    }
    if (this.peer.closed) {
      this.outbox = [];
      this.outboxBytes = 0;
    }
    if (this.wantDrain && this.outboxBytes < this.highWaterMark && !this.closing && !this.closed) {
      this.wantDrain = false;
      this.emit("drain");
    }
    if (this.outbox.length > 0) {
      this.scheduleDelivery();
      return;
    }
    if (this.closing) {
      const { reason } = this.closing;
      this.finish(reason);
      this.peer.finish(reason);
    }
  }

  private finish(reason?: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = null;
    this.outbox = [];
    this.outboxBytes = 0;
    this.emit("close", reason);
  }
}

/** Two connected in-memory channel ends that honour backpressure; for tests and benchmarks. */
export function memoryPipe(opts: MemoryPipeOptions = {}): [ByteChannel, ByteChannel] {
  const chunk = Math.max(1, opts.chunk ?? DEFAULT_CHUNK);
  const hwm = Math.max(1, opts.highWaterMark ?? DEFAULT_HIGH_WATER_MARK);
  const a = new MemoryChannel(chunk, hwm);
  const b = new MemoryChannel(chunk, hwm);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
