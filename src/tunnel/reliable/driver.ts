/**
 * ReliableDriver: the thin I/O adapter around a ReliableChannel — the only file here that
 * touches timers. It turns the sans-I/O core into a byte-stream object:
 *
 *   write(buf) → boolean (false: wait for 'drain'), input(datagram) for decrypted datagrams,
 *   events 'data' (Buffer), 'drain', 'dead' (reason), 'close' (reason, byPeer).
 *
 * Sending is batched: write() and input() only mark the driver dirty, and one setImmediate per
 * event-loop turn drains poll() in a loop, so a burst of small writes becomes full datagrams
 * and a burst of incoming datagrams is answered with one ACK. A single setTimeout is kept armed
 * at channel.nextTimeout() for pacing, delayed ACKs, loss/probe timers and keepalive.
 */
import { EventEmitter } from "node:events";
import { type Clock, systemClock } from "../../util/clock.js";
import type { ReliableChannel } from "./channel.js";
import type { DeadReason } from "./types.js";

/**
 * Datagrams sent per flush before yielding to the event loop (incoming ACKs and other peers get
 * a turn; the rest goes out on the next turn).
 */
const MAX_DATAGRAMS_PER_FLUSH = 256;

export interface ReliableDriverOptions {
  /** Sends one datagram (the session seals it); must not throw for network errors. */
  send: (datagram: Buffer) => void;
  clock?: Clock;
}

export interface ReliableDriverEvents {
  data: [chunk: Buffer];
  drain: [];
  dead: [reason: DeadReason];
  close: [reason: string, byPeer: boolean];
}

export class ReliableDriver extends EventEmitter<ReliableDriverEvents> {
  private readonly send: (datagram: Buffer) => void;
  private readonly clock: Clock;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private immediate: NodeJS.Immediate | undefined;
  private needDrain = false;
  private paused = false;
  private ended = false;

  constructor(
    readonly channel: ReliableChannel,
    opts: ReliableDriverOptions,
  ) {
    super();
    this.send = opts.send;
    this.clock = opts.clock ?? systemClock;
    this.schedule();
  }

  /** Queues bytes (the channel keeps the Buffer: do not modify it afterwards). */
  write(data: Buffer): boolean {
    const ok = this.channel.write(data, this.clock.now());
    if (!ok) this.needDrain = true;
    this.schedule();
    return ok;
  }

  /** A decrypted datagram from the peer. */
  input(datagram: Buffer): void {
    this.channel.receive(datagram, this.clock.now());
    this.deliver();
    this.schedule();
  }

  /** See ReliableChannel.pathChanged: retransmit on the new path without the old backoff. */
  pathChanged(): void {
    this.channel.pathChanged();
    this.schedule();
  }

  /** Stops emitting 'data'; unread bytes stay in the channel and its window closes. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.deliver();
    this.schedule();
  }

  /** Delivers what was written, then closes (see ReliableChannel.close); `discard` skips the delivery. */
  close(reason = "", opts: { discard?: boolean } = {}): void {
    this.channel.close(reason, opts);
    this.schedule();
  }

  /** Stops all timers without telling the peer (the session is gone anyway). */
  destroy(): void {
    this.ended = true;
    this.clearTimers();
  }

  get writable(): boolean {
    return this.channel.writable;
  }

  /** Runs on the next turn of the event loop, once however many times it is asked for. */
  private schedule(): void {
    if (this.immediate === undefined && !this.ended) this.immediate = setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.immediate = undefined;
    if (this.ended) return;
    const ch = this.channel;
    const now = this.clock.now();
    let sent = 0;
    for (let p = ch.poll(now); p !== null; p = ch.poll(now)) {
      this.send(p);
      if (++sent === MAX_DATAGRAMS_PER_FLUSH) {
        this.deliver();
        this.schedule();
        return;
      }
    }
    this.deliver();
    if (this.needDrain && ch.writable) {
      this.needDrain = false;
      this.emit("drain");
    }
    if (ch.state === "dead" || ch.state === "closed") {
      this.finish();
      return;
    }
    this.arm(ch.nextTimeout(), now);
  };

  private deliver(): void {
    if (this.paused) return;
    for (let c = this.channel.read(); c !== null; c = this.channel.read()) {
      this.emit("data", c);
      if (this.paused) return;
    }
  }

  /**
   * Keeps one timer at or before the channel's next deadline. A timer already set for an earlier
   * time is kept: it fires early, the flush finds nothing due and arms the real deadline. Most
   * packets move a deadline later (the probe timeout restarts with each send and ACK, the delayed
   * ACK goes out with data), so this trades a clearTimeout and setTimeout per packet for one
   * early wake-up per deadline.
   */
  private arm(at: number | undefined, now: number): void {
    if (at === undefined) {
      this.clearTimers();
      return;
    }
    if (this.timer !== undefined && this.timerAt <= at) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.onTimer, Math.max(0, at - now));
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.flush();
  };

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.clearTimers();
    const ch = this.channel;
    if (ch.state === "dead") this.emit("dead", ch.deadReason ?? "peer_unresponsive");
    else this.emit("close", ch.closeReason ?? "", ch.closedByPeer);
  }

  private clearTimers(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }
}
