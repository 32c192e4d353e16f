/**
 * The Node adapter of the mux: drives a `MuxCore` from a `ByteChannel`, one timer and the
 * streams' Duplex calls, and turns core events into Promises, Duplex streams and `stream` events.
 * All protocol decisions are in the core; this file only moves bytes and callbacks.
 */
import { EventEmitter } from "node:events";
import { type Clock, systemClock } from "../../util/clock.js";
import type { ByteChannel } from "../channel.js";
import { coalesce } from "./coalesce.js";
import { GOAWAY, goAwayCodeName, RESET } from "./codes.js";
import {
  COALESCE_BELOW,
  DEFAULT_STREAM_SEND_BUFFER,
  MAX_TARGET_BYTES,
  WRITE_BATCH_BYTES,
} from "./constants.js";
import { MuxCore, type MuxCoreOptions, type MuxCounters, type MuxEvent } from "./core.js";
import { StreamRefusedError, StreamResetError } from "./errors.js";
import { MuxStream, type StreamHost } from "./stream.js";

export interface MuxSessionOptions extends MuxCoreOptions {
  /** Queued bytes per stream above which its `write()` stops completing (default 256 KiB). */
  streamSendBuffer?: number;
  clock?: Clock;
}

/** A stream the peer wants to open; answer exactly once. */
export interface IncomingStream {
  readonly id: number;
  readonly target: string;
  /**
   * Aborted (with a StreamResetError) when the opener gives up or the session ends before an
   * answer: pass it to the dialer so it stops early.
   */
  readonly signal: AbortSignal;
  /** Sends ACCEPT and returns the stream. If the opener already gave up, the stream errors at once. */
  accept(): MuxStream;
  /** Refuses the stream; the opener's `open()` rejects with StreamRefusedError(code, reason). */
  reject(code: number, reason: string): void;
}

export interface MuxSessionStats extends MuxCounters {
  openStreams: number;
  pendingOpens: number;
  rttMs: number;
  /** Received bytes waiting in streams for their readers. */
  bufferedIn: number;
  /** Bytes queued in the mux for sending (not counting the streams' own Writable buffers). */
  bufferedOut: number;
}

export interface MuxCloseInfo {
  code: number;
  reason: string;
  byPeer: boolean;
}

export interface OpenOptions {
  /**
   * Aborting before the far side answers sends a RESET and rejects the open with CANCELLED, or
   * with TIMEOUT when the signal comes from `AbortSignal.timeout(ms)`.
   */
  signal?: AbortSignal;
}

interface PendingOpen {
  target: string;
  resolve: (s: MuxStream) => void;
  reject: (e: Error) => void;
  cleanup: () => void;
}

export class MuxSession extends EventEmitter {
  private readonly core: MuxCore;
  private readonly clock: Clock;
  private readonly sendBuffer: number;
  private readonly host: StreamHost;
  private readonly streams = new Map<number, MuxStream>();
  private readonly pendingOpens = new Map<number, PendingOpen>();
  private readonly incoming = new Map<number, IncomingRequest>();
  private readonly writeWaiters = new Map<number, () => void>();
  private flushScheduled = false;
  private flushing = false;
  private channelBlocked = false;
  private channelClosed = false;
  private channelCloseRequested = false;
  private closeInfo: MuxCloseInfo | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly channel: ByteChannel,
    opts: MuxSessionOptions,
  ) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.sendBuffer = opts.streamSendBuffer ?? DEFAULT_STREAM_SEND_BUFFER;
    this.core = new MuxCore(opts, this.clock.now());
    this.host = this.makeHost();
    channel.on("data", (chunk) => this.onChannelData(chunk));
    channel.on("drain", () => {
      this.channelBlocked = false;
      this.flush();
    });
    channel.on("close", (reason) => this.onChannelClose(reason));
    // A first PING gives window auto-tuning an RTT right away.
    this.core.ping(this.clock.now());
    this.afterCoreCall();
  }

  override on(event: "stream", fn: (req: IncomingStream) => void): this;
  override on(event: "close", fn: (info: MuxCloseInfo) => void): this;
  override on(event: string | symbol, fn: (...args: never[]) => void): this {
    return super.on(event, fn as (...args: unknown[]) => void);
  }

  get closed(): boolean {
    return this.closeInfo !== null;
  }

  /** Smoothed mux-level round-trip time in ms (0 until the first PONG). */
  get rttMs(): number {
    return this.core.srttMs;
  }

  /** Opens a stream to `target`; resolves once the far side accepts. */
  open(target: string, opts: OpenOptions = {}): Promise<MuxStream> {
    const refusal = this.core.openRefusal();
    if (refusal) return Promise.reject(new StreamRefusedError(refusal.code, refusal.reason));
    const bytes = Buffer.byteLength(target, "utf8");
    if (bytes === 0 || bytes > MAX_TARGET_BYTES) {
      return Promise.reject(
        new StreamRefusedError(RESET.BAD_TARGET, `target must be 1..${MAX_TARGET_BYTES} bytes`),
      );
    }
    if (opts.signal?.aborted) return Promise.reject(new StreamRefusedError(RESET.CANCELLED, "open aborted"));
    const id = this.core.open(target, this.clock.now());
    const promise = new Promise<MuxStream>((resolve, reject) => {
      const onAbort = () => {
        if (!this.pendingOpens.delete(id)) return;
        // AbortSignal.timeout() aborts with a TimeoutError: report it as TIMEOUT, not CANCELLED.
        const timedOut = (opts.signal?.reason as { name?: string } | undefined)?.name === "TimeoutError";
        const code = timedOut ? RESET.TIMEOUT : RESET.CANCELLED;
        const reason = timedOut ? "open timed out" : "open aborted";
        this.core.reset(id, code, reason);
        this.afterCoreCall();
        reject(new StreamRefusedError(code, reason));
      };
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      const cleanup = () => opts.signal?.removeEventListener("abort", onAbort);
      this.pendingOpens.set(id, { target, resolve, reject, cleanup });
    });
    this.afterCoreCall();
    return promise;
  }

  /** Ends the session: GO_AWAY to the peer, every stream errors with PEER_GONE, the channel closes. */
  close(reason = "session closed"): void {
    if (this.closeInfo) return;
    this.core.goAway(GOAWAY.NORMAL, reason);
    this.afterCoreCall();
  }

  /** Sends a PING now; `rttMs` updates when the PONG arrives. */
  ping(): void {
    this.core.ping(this.clock.now());
    this.afterCoreCall();
  }

  stats(): MuxSessionStats {
    let bufferedIn = 0;
    for (const s of this.streams.values()) bufferedIn += s.bufferedIn;
    return {
      ...this.core.counters,
      openStreams: this.core.streamCount,
      pendingOpens: this.pendingOpens.size,
      rttMs: this.core.srttMs,
      bufferedIn,
      bufferedOut: this.core.queuedBytesTotal(),
    };
  }

  // ---- channel side -----------------------------------------------------------------------

  private onChannelData(chunk: Buffer): void {
    this.core.receive(chunk, this.clock.now());
    this.afterCoreCall();
  }

  private onChannelClose(reason?: string): void {
    this.channelClosed = true;
    this.core.channelClosed(reason ?? "channel closed");
    this.afterCoreCall();
  }

  /** After anything that may have produced events, output or a new timer deadline. */
  private afterCoreCall(): void {
    this.dispatchEvents();
    if (this.core.hasOutput() || (this.core.isClosed && !this.channelCloseRequested)) this.scheduleFlush();
    this.armTimer();
  }

  private dispatchEvents(): void {
    for (let e = this.core.pollEvent(); e; e = this.core.pollEvent()) this.dispatch(e);
  }

  private dispatch(e: MuxEvent): void {
    switch (e.type) {
      case "incoming": {
        const req = new IncomingRequest(this, e.id, e.target);
        if (this.listenerCount("stream") === 0) {
          this.core.reset(e.id, RESET.REFUSED_BY_POLICY, "no stream handler");
          return;
        }
        this.incoming.set(e.id, req);
        this.emit("stream", req);
        return;
      }
      case "accepted": {
        const p = this.pendingOpens.get(e.id);
        if (!p) return;
        this.pendingOpens.delete(e.id);
        p.cleanup();
        p.resolve(this.addStream(e.id, p.target));
        return;
      }
      case "data":
        this.streams.get(e.id)?.deliver(e.data);
        return;
      case "fin":
        this.streams.get(e.id)?.deliverEnd();
        return;
      case "reset": {
        const p = this.pendingOpens.get(e.id);
        if (p) {
          this.pendingOpens.delete(e.id);
          p.cleanup();
          p.reject(new StreamRefusedError(e.code, e.reason));
          return;
        }
        const req = this.incoming.get(e.id);
        if (req) {
          this.incoming.delete(e.id);
          req.cancel(new StreamResetError(e.code, e.reason));
          return;
        }
        this.streams.get(e.id)?.destroy(new StreamResetError(e.code, e.reason));
        return;
      }
      case "closed":
        this.teardown(e);
        return;
    }
  }

  private teardown(e: { code: number; reason: string; byPeer: boolean }): void {
    this.closeInfo = { code: e.code, reason: e.reason, byPeer: e.byPeer };
    const text = `mux session ended (${e.byPeer ? "by peer" : "locally"}, ${goAwayCodeName(e.code)}): ${e.reason}`;
    for (const p of this.pendingOpens.values()) {
      p.cleanup();
      p.reject(new StreamRefusedError(RESET.PEER_GONE, text));
    }
    this.pendingOpens.clear();
    for (const req of this.incoming.values()) req.cancel(new StreamResetError(RESET.PEER_GONE, text));
    this.incoming.clear();
    for (const s of [...this.streams.values()]) s.destroy(new StreamResetError(RESET.PEER_GONE, text));
    this.streams.clear();
    this.writeWaiters.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.emit("close", this.closeInfo);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(() => this.flush());
  }

  /** Pulls frames from the core and writes them until the channel pushes back. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.flushing || this.channelClosed) return;
    this.flushing = true;
    const pieces: Buffer[] = [];
    const writes: Buffer[] = [];
    // Once the session has ended only a few control frames (the GO_AWAY) are left: write them
    // even into a blocked channel, so that a channel that never drains still gets closed.
    while ((!this.channelBlocked || this.core.isClosed) && this.core.hasOutput()) {
      pieces.length = 0;
      writes.length = 0;
      this.core.pull(WRITE_BATCH_BYTES, pieces);
      for (const w of coalesce(pieces, COALESCE_BELOW, writes)) {
        if (!this.channel.write(w)) this.channelBlocked = true;
      }
    }
    this.flushing = false;
    this.wakeWriters();
    if (this.core.isClosed && !this.core.hasOutput() && !this.channelCloseRequested) {
      this.channelCloseRequested = true;
      this.channel.close(this.closeInfo?.reason);
    }
  }

  private wakeWriters(): void {
    if (this.writeWaiters.size === 0) return;
    for (const [id, cb] of this.writeWaiters) {
      if (this.core.queuedBytes(id) < this.sendBuffer) {
        this.writeWaiters.delete(id);
        cb();
      }
    }
  }

  /** One timer for the core's keepalive hook; only re-armed when the deadline moves earlier. */
  private armTimer(): void {
    const at = this.core.nextTimerAt();
    if (at === null) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.timerAt = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.timer && at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.core.onTimer(this.clock.now());
        this.afterCoreCall();
      },
      Math.max(0, at - this.clock.now()),
    );
    this.timer.unref();
  }

  // ---- stream side ------------------------------------------------------------------------

  /** @internal used by IncomingRequest */
  answer(id: number, accept: boolean, code = 0, reason = ""): void {
    this.incoming.delete(id);
    if (accept) this.core.accept(id);
    else this.core.reset(id, code, reason);
    this.afterCoreCall();
  }

  /** @internal */
  addStream(id: number, target: string): MuxStream {
    const s = new MuxStream(this.host, id, target);
    this.streams.set(id, s);
    s.once("close", () => {
      if (this.streams.get(id) === s) this.streams.delete(id);
      this.writeWaiters.delete(id);
    });
    return s;
  }

  private makeHost(): StreamHost {
    return {
      write: (id, chunk) => {
        this.core.write(id, chunk);
        this.scheduleFlush();
      },
      finish: (id) => {
        this.core.finish(id);
        this.scheduleFlush();
      },
      whenWritable: (id, cb) => {
        if (this.core.queuedBytes(id) < this.sendBuffer) cb();
        else this.writeWaiters.set(id, cb);
      },
      consumed: (id, n) => {
        this.core.consumed(id, n, this.clock.now());
        if (this.core.hasOutput()) this.scheduleFlush();
      },
      release: (id, code, reason) => {
        this.core.release(id, code, reason);
        this.afterCoreCall();
      },
      reset: (id, code, reason) => {
        this.core.reset(id, code, reason);
        this.afterCoreCall();
      },
    };
  }
}

class IncomingRequest implements IncomingStream {
  /** Set when the opener reset the stream (or the session ended) before we answered. */
  cancelled: StreamResetError | null = null;
  private readonly abort = new AbortController();
  readonly signal = this.abort.signal;
  private answered = false;

  constructor(
    private readonly session: MuxSession,
    readonly id: number,
    readonly target: string,
  ) {}

  accept(): MuxStream {
    this.claim();
    if (this.cancelled) {
      const s = new MuxStream(NOOP_HOST, this.id, this.target);
      const err = this.cancelled;
      process.nextTick(() => s.destroy(err));
      return s;
    }
    const s = this.session.addStream(this.id, this.target);
    this.session.answer(this.id, true);
    return s;
  }

  /** The opener gave up or the session ended before we answered. */
  cancel(err: StreamResetError): void {
    if (this.cancelled) return;
    this.cancelled = err;
    this.abort.abort(err);
  }

  reject(code: number, reason: string): void {
    this.claim();
    if (!this.cancelled) this.session.answer(this.id, false, code, reason);
  }

  private claim(): void {
    if (this.answered) throw new Error(`incoming stream ${this.id} was already answered`);
    this.answered = true;
  }
}

const NOOP_HOST: StreamHost = {
  write() {},
  finish() {},
  whenWritable: (_id, cb) => cb(),
  consumed() {},
  release() {},
  reset() {},
};
