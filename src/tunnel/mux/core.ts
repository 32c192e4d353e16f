/**
 * The sans-I/O stream multiplexer. It is fed received bytes (`receive`), application calls
 * (`open`, `write`, `consumed`, ...) and timer ticks, each with `now`; it answers with events
 * (`pollEvent`) and bytes to send (`pull`). It never touches a socket or a timer, never throws on
 * network input: a peer that breaks the protocol gets a GO_AWAY and the session ends.
 */
import { ByteQueue } from "./byte-queue.js";
import { GOAWAY, RESET } from "./codes.js";
import {
  DEFAULT_KEEPALIVE_INTERVAL_MS,
  DEFAULT_KEEPALIVE_TIMEOUT_MS,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_MAX_SESSION_WINDOW,
  DEFAULT_MAX_STREAM_WINDOW,
  DEFAULT_MAX_STREAMS,
  FLAG_FIN,
  FrameType,
  HEADER_SIZE,
  INITIAL_STREAM_WINDOW,
  MAX_DATA_BODY,
  MAX_SEND_CREDIT,
  PING_BODY_SIZE,
  RTT_PROBE_INTERVAL_MS,
} from "./constants.js";
import { FrameDecoder } from "./decoder.js";
import { Fifo } from "./fifo.js";
import { ReceiveWindow, type WindowBudget } from "./flow.js";
import { Keepalive } from "./keepalive.js";
import { type MuxCounters, type Phase, type StreamState, zeroCounters } from "./state.js";

export type { MuxCounters } from "./state.js";

import {
  encodeAccept,
  encodeDataHeader,
  encodeGoAway,
  encodeOpen,
  encodePing,
  encodeReset,
  encodeWindowUpdate,
  type Frame,
  parseCoded,
  parseOpen,
  parseWindowUpdate,
} from "./frame.js";

export interface MuxCoreOptions {
  /** The initiator opens odd stream ids, the responder even ones. */
  initiator: boolean;
  /** Concurrent streams (both directions together); further OPENs are refused. */
  maxStreams?: number;
  /** Largest DATA body we send: 1..64 KiB (default 64 KiB). We always accept up to 64 KiB. */
  maxFrameSize?: number;
  maxStreamWindow?: number;
  maxSessionWindow?: number;
  /** 0 disables keepalive pings. */
  keepaliveIntervalMs?: number;
  keepaliveTimeoutMs?: number;
}

export type MuxEvent =
  /** The peer opened a stream; answer with `accept` or `reject`. */
  | { type: "incoming"; id: number; target: string }
  /** The peer accepted a stream we opened. */
  | { type: "accepted"; id: number }
  | { type: "data"; id: number; data: Buffer }
  /** The peer half-closed: no more data will arrive on this stream. */
  | { type: "fin"; id: number }
  /** The peer reset (or refused, if not yet accepted) the stream; it is gone. */
  | { type: "reset"; id: number; code: number; reason: string }
  /** The session is over; all streams are gone. `byPeer`: the peer sent GO_AWAY or the channel closed. */
  | { type: "closed"; code: number; reason: string; byPeer: boolean };

export class MuxCore {
  readonly counters: MuxCounters = zeroCounters();

  private readonly initiator: boolean;
  private readonly maxStreams: number;
  private readonly maxFrameSize: number;
  private readonly maxStreamWindow: number;
  private readonly keepalive: Keepalive;
  private readonly budget: WindowBudget;
  private readonly decoder: FrameDecoder;
  private readonly streams = new Map<number, StreamState>();
  private nextLocalId: number;
  private lastPeerId = 0;
  /** Encoded control frames; they go out before any DATA. */
  private readonly control = new Fifo<Buffer>();
  /** Streams with something to send, in round-robin order. */
  private readonly ready = new Fifo<StreamState>();
  private readonly events = new Fifo<MuxEvent>();
  private ended: { code: number; reason: string } | null = null;

  constructor(opts: MuxCoreOptions, now: number) {
    this.initiator = opts.initiator;
    this.nextLocalId = opts.initiator ? 1 : 2;
    this.maxStreams = opts.maxStreams ?? DEFAULT_MAX_STREAMS;
    this.maxFrameSize = Math.max(1, Math.min(MAX_DATA_BODY, opts.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE));
    this.maxStreamWindow = Math.max(INITIAL_STREAM_WINDOW, opts.maxStreamWindow ?? DEFAULT_MAX_STREAM_WINDOW);
    this.budget = { total: 0, max: opts.maxSessionWindow ?? DEFAULT_MAX_SESSION_WINDOW };
    this.keepalive = new Keepalive(
      opts.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS,
      opts.keepaliveTimeoutMs ?? DEFAULT_KEEPALIVE_TIMEOUT_MS,
      now,
    );
    this.decoder = new FrameDecoder(MAX_DATA_BODY);
  }

  /** Smoothed round-trip time from PING/PONG; 0 until measured. */
  get srttMs(): number {
    return this.keepalive.srttMs;
  }

  get isClosed(): boolean {
    return this.ended !== null;
  }

  get streamCount(): number {
    return this.streams.size;
  }

  // ---- application side -------------------------------------------------------------------

  /** Why a new stream cannot be opened now, or null if it can. */
  openRefusal(): { code: number; reason: string } | null {
    if (this.ended) return { code: RESET.PEER_GONE, reason: `mux session closed: ${this.ended.reason}` };
    if (this.streams.size >= this.maxStreams) {
      return { code: RESET.TOO_MANY_STREAMS, reason: `at most ${this.maxStreams} concurrent streams` };
    }
    if (this.nextLocalId > 0xffffffff)
      return { code: RESET.TOO_MANY_STREAMS, reason: "stream ids exhausted" };
    return null;
  }

  /** Sends OPEN; returns the new stream id. Check `openRefusal()` first; throws for a bad target. */
  open(target: string, now: number): number {
    const refusal = this.openRefusal();
    if (refusal) throw new Error(`cannot open a stream: ${refusal.reason}`);
    const id = this.nextLocalId;
    const frame = encodeOpen(id, target);
    this.nextLocalId += 2;
    this.streams.set(id, this.newStream(id, "opening", now));
    this.queueControl(frame);
    this.counters.streamsOpened++;
    return id;
  }

  accept(id: number): void {
    const s = this.streams.get(id);
    if (s?.phase !== "incoming") return;
    s.phase = "open";
    this.queueControl(encodeAccept(id));
    this.counters.streamsAccepted++;
    this.schedule(s);
  }

  /** Refuses an incoming stream, or aborts any stream: sends RESET and forgets it. */
  reset(id: number, code: number, reason: string): void {
    const s = this.streams.get(id);
    if (!s || this.ended) return;
    if (s.phase === "incoming") this.counters.streamsRefused++;
    this.queueControl(encodeReset(id, code, reason));
    this.counters.resetsSent++;
    this.remove(s);
  }

  /** The application is done with a stream: reset it unless both directions finished cleanly. */
  release(id: number, code: number, reason: string): void {
    const s = this.streams.get(id);
    if (!s) return;
    if (s.finQueued && s.finReceived) return; // it is removed once the FIN is sent
    this.reset(id, code, reason);
  }

  /** Queues bytes on a stream (not copied). Ignored once the stream is gone or half-closed. */
  write(id: number, data: Buffer): void {
    const s = this.streams.get(id);
    if (!s || s.finQueued || data.length === 0) return;
    s.send.push(data);
    this.schedule(s);
  }

  /** Half-close: a FIN follows the queued bytes. */
  finish(id: number): void {
    const s = this.streams.get(id);
    if (!s || s.finQueued) return;
    s.finQueued = true;
    this.schedule(s);
  }

  /** Bytes queued on a stream and not yet pulled for sending. */
  queuedBytes(id: number): number {
    return this.streams.get(id)?.send.length ?? 0;
  }

  /** Bytes queued on all streams and not yet pulled for sending. */
  queuedBytesTotal(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.send.length;
    return n;
  }

  /** The reader consumed `n` delivered bytes: maybe grant the peer more credit. */
  consumed(id: number, n: number, now: number): void {
    const s = this.streams.get(id);
    if (!s || s.finReceived || this.ended) return;
    const before = s.recv.window;
    const delta = s.recv.consume(n, now, this.srttMs);
    if (s.recv.window > before) this.counters.windowGrowths++;
    if (delta > 0) {
      this.queueControl(encodeWindowUpdate(id, delta));
      // Keep the RTT that auto-tuning uses current while data flows (keepalive PINGs are rare).
      if (this.keepalive.canProbe(now, RTT_PROBE_INTERVAL_MS)) this.ping(now);
    }
  }

  /** Ends the session from our side: GO_AWAY goes out, every stream is gone. */
  goAway(code: number, reason: string): void {
    if (this.ended) return;
    this.control.push(encodeGoAway(code, reason));
    this.end(code, reason, false);
  }

  /** The channel under us closed. */
  channelClosed(reason: string): void {
    this.end(GOAWAY.NORMAL, reason, true);
  }

  /** Measures RTT now (also done by the keepalive timer). */
  ping(now: number): void {
    if (this.ended) return;
    const body = Buffer.alloc(PING_BODY_SIZE);
    body.writeUInt32BE(this.keepalive.pingSent(now), 0);
    this.queueControl(encodePing(body));
  }

  // ---- timers -----------------------------------------------------------------------------

  /** When `onTimer` should next run, or null for never. */
  nextTimerAt(): number | null {
    return this.ended ? null : this.keepalive.nextAt();
  }

  /**
   * Keepalive hook. Fires every keepalive interval to send a PING (which also refreshes the RTT
   * used by window auto-tuning), and at the timeout to end a session whose peer went silent.
   */
  onTimer(now: number): void {
    if (this.ended) return;
    const due = this.keepalive.due(now);
    if (due === "timeout") {
      const silent = Math.round(this.keepalive.silentFor(now));
      this.goAway(GOAWAY.KEEPALIVE_TIMEOUT, `nothing received for ${silent} ms`);
    } else if (due === "ping") {
      this.ping(now);
    }
  }

  // ---- input ------------------------------------------------------------------------------

  /** Feeds received bytes; events become available through `pollEvent`. */
  receive(chunk: Buffer, now: number): void {
    if (this.ended) return;
    this.counters.bytesIn += chunk.length;
    this.keepalive.received(now);
    this.decoder.push(chunk);
    for (let f = this.decoder.next(); f && !this.ended; f = this.decoder.next()) {
      this.counters.framesIn++;
      this.handle(f, now);
    }
    if (this.decoder.error && !this.ended) this.violation(this.decoder.error);
  }

  pollEvent(): MuxEvent | undefined {
    return this.events.shift();
  }

  private handle(f: Frame, now: number): void {
    switch (f.type) {
      case FrameType.DATA:
        this.onData(f);
        return;
      case FrameType.WINDOW_UPDATE:
        this.onWindowUpdate(f);
        return;
      case FrameType.OPEN:
        this.onOpen(f, now);
        return;
      case FrameType.ACCEPT:
        this.onAccept(f);
        return;
      case FrameType.RESET:
        this.onReset(f);
        return;
      case FrameType.PING:
        if (f.body.length !== PING_BODY_SIZE) {
          this.violation("PING body must be 8 bytes");
          return;
        }
        this.queueControl(encodePing(f.body, true));
        return;
      case FrameType.PONG:
        this.onPong(f, now);
        return;
      case FrameType.GO_AWAY: {
        const g = parseCoded(f.body);
        if (!g) {
          this.violation("malformed GO_AWAY");
          return;
        }
        this.end(g.code, g.reason, true);
        return;
      }
    }
  }

  /** The stream a frame refers to; undefined if the frame is stale (dropped) or a violation. */
  private streamFor(f: Frame, what: string): StreamState | undefined {
    const s = this.streams.get(f.streamId);
    if (s) return s;
    if (this.isPastId(f.streamId)) this.counters.staleFrames++;
    else this.violation(`${what} for stream ${f.streamId}, which was never opened`);
    return undefined;
  }

  private onData(f: Frame): void {
    const s = this.streamFor(f, "DATA");
    if (!s) return;
    if (s.phase !== "open") {
      this.violation(`DATA on stream ${s.id} before it was accepted`);
      return;
    }
    if (s.finReceived) {
      this.violation(`DATA on stream ${s.id} after FIN`);
      return;
    }
    if (!s.recv.receive(f.body.length)) {
      this.violation(`stream ${s.id} overran its receive window`);
      return;
    }
    if (f.body.length > 0) {
      this.counters.dataBytesIn += f.body.length;
      this.events.push({ type: "data", id: s.id, data: f.body });
    }
    if (f.flags & FLAG_FIN) {
      s.finReceived = true;
      this.events.push({ type: "fin", id: s.id });
      if (s.finSent) this.remove(s);
    }
  }

  private onWindowUpdate(f: Frame): void {
    const delta = parseWindowUpdate(f.body);
    if (delta === null) {
      this.violation("malformed WINDOW_UPDATE");
      return;
    }
    const s = this.streamFor(f, "WINDOW_UPDATE");
    if (!s) return;
    s.sendCredit += delta;
    if (s.sendCredit > MAX_SEND_CREDIT) {
      this.violation(`stream ${s.id} send credit overflow`);
      return;
    }
    this.schedule(s);
  }

  private onOpen(f: Frame, now: number): void {
    const id = f.streamId;
    if (id === 0 || this.isLocalParity(id)) {
      this.violation(`OPEN with stream id ${id} of the wrong parity`);
      return;
    }
    if (id <= this.lastPeerId) {
      this.violation(`OPEN reuses stream id ${id}`);
      return;
    }
    this.lastPeerId = id;
    const target = parseOpen(f.body);
    if (target === null) {
      this.refuse(id, RESET.BAD_TARGET, "target is not valid text");
      return;
    }
    if (this.streams.size >= this.maxStreams) {
      this.refuse(id, RESET.TOO_MANY_STREAMS, `at most ${this.maxStreams} concurrent streams`);
      return;
    }
    this.streams.set(id, this.newStream(id, "incoming", now));
    this.events.push({ type: "incoming", id, target });
  }

  private refuse(id: number, code: number, reason: string): void {
    this.queueControl(encodeReset(id, code, reason));
    this.counters.streamsRefused++;
    this.counters.resetsSent++;
  }

  private onAccept(f: Frame): void {
    const s = this.streamFor(f, "ACCEPT");
    if (!s) return;
    if (s.phase !== "opening") {
      this.violation(`ACCEPT for stream ${s.id}, which is not awaiting one`);
      return;
    }
    s.phase = "open";
    this.events.push({ type: "accepted", id: s.id });
    this.schedule(s);
  }

  private onReset(f: Frame): void {
    const r = parseCoded(f.body);
    if (!r) {
      this.violation("malformed RESET");
      return;
    }
    const s = this.streams.get(f.streamId);
    if (!s) {
      // A reset crossing ours, or for a stream already finished: nothing to do.
      this.counters.staleFrames++;
      return;
    }
    this.counters.resetsReceived++;
    this.remove(s);
    this.events.push({ type: "reset", id: s.id, code: r.code, reason: r.reason });
  }

  private onPong(f: Frame, now: number): void {
    if (f.body.length !== PING_BODY_SIZE || !this.keepalive.pong(f.body.readUInt32BE(0), now)) {
      this.counters.staleFrames++;
    }
  }

  private violation(reason: string): void {
    this.counters.protocolErrors++;
    this.goAway(GOAWAY.PROTOCOL_ERROR, reason);
  }

  // ---- output -----------------------------------------------------------------------------

  /** True when `pull` would return something. */
  hasOutput(): boolean {
    return this.control.length > 0 || this.ready.length > 0;
  }

  /**
   * Appends frames worth about `maxBytes` to `out` (as header and body pieces, bodies uncopied)
   * and returns the byte count. Control frames go first so credit and pongs are never stuck behind
   * bulk data; then streams take turns, one frame each per round (round-robin), so 64 busy streams
   * share the channel evenly and a stream without credit never blocks the others.
   */
  pull(maxBytes: number, out: Buffer[]): number {
    let bytes = 0;
    while (bytes < maxBytes && this.control.length > 0) {
      const frame = this.control.shift()!;
      out.push(frame);
      bytes += frame.length;
      this.counters.framesOut++;
    }
    while (bytes < maxBytes && this.ready.length > 0 && !this.ended) {
      const s = this.ready.shift()!;
      s.scheduled = false;
      if (this.streams.get(s.id) !== s || !this.canSend(s)) continue;
      const n = Math.min(s.send.length, s.sendCredit, this.maxFrameSize);
      const fin = s.finQueued && n === s.send.length;
      out.push(encodeDataHeader(s.id, n, fin));
      s.send.takeInto(n, out);
      s.sendCredit -= n;
      bytes += HEADER_SIZE + n;
      this.counters.framesOut++;
      this.counters.dataBytesOut += n;
      if (fin) {
        s.finSent = true;
        if (s.finReceived) this.remove(s);
      } else {
        this.schedule(s);
      }
    }
    this.counters.bytesOut += bytes;
    return bytes;
  }

  // ---- helpers ----------------------------------------------------------------------------

  private newStream(id: number, phase: Phase, now: number): StreamState {
    return {
      id,
      phase,
      send: new ByteQueue(),
      sendCredit: INITIAL_STREAM_WINDOW,
      finQueued: false,
      finSent: false,
      finReceived: false,
      recv: new ReceiveWindow(INITIAL_STREAM_WINDOW, this.maxStreamWindow, this.budget, now),
      scheduled: false,
    };
  }

  private canSend(s: StreamState): boolean {
    if (s.phase !== "open" || s.finSent) return false;
    if (s.send.length > 0) return s.sendCredit > 0;
    return s.finQueued;
  }

  private schedule(s: StreamState): void {
    if (s.scheduled || !this.canSend(s) || this.ended) return;
    s.scheduled = true;
    this.ready.push(s);
  }

  private queueControl(frame: Buffer): void {
    if (!this.ended) this.control.push(frame);
  }

  private remove(s: StreamState): void {
    if (this.streams.get(s.id) !== s) return;
    this.streams.delete(s.id);
    s.recv.release();
    s.send.clear();
  }

  private isLocalParity(id: number): boolean {
    return (id % 2 === 1) === this.initiator;
  }

  /** An id that was allocated at some point (by us or the peer), so frames for it may be late. */
  private isPastId(id: number): boolean {
    if (id === 0) return false;
    return this.isLocalParity(id) ? id < this.nextLocalId : id <= this.lastPeerId;
  }

  private end(code: number, reason: string, byPeer: boolean): void {
    if (this.ended) return;
    this.ended = { code, reason };
    for (const s of this.streams.values()) {
      s.recv.release();
      s.send.clear();
    }
    this.streams.clear();
    this.ready.clear();
    this.events.push({ type: "closed", code, reason, byPeer });
  }
}
