/**
 * Deterministic two-peer simulation: two ReliableChannels joined by two Links, a virtual
 * clock, and an application on each side that writes a seeded random byte stream (in random
 * chunk sizes) and checks that what it reads is exactly the peer's stream, in order, once.
 */
import { ReliableChannel } from "../../src/tunnel/reliable/channel.js";
import type { ChannelStats, ReliableChannelOptions } from "../../src/tunnel/reliable/types.js";
import { EventQueue } from "./event-queue.js";
import { Link, type LinkConfig, type LinkCounters } from "./link.js";
import { Prng } from "./prng.js";

export interface SimOptions {
  seed: number;
  /** Bytes A sends to B. */
  bytesAtoB: number;
  /** Bytes B sends to A (default 0). */
  bytesBtoA?: number;
  linkAtoB: LinkConfig;
  /** Default: same as linkAtoB. */
  linkBtoA?: LinkConfig;
  channel?: Omit<ReliableChannelOptions, "now">;
  /** Give up (result.done = false) at this virtual time. */
  maxTimeMs?: number;
  /** Largest write() chunk. */
  maxChunk?: number;
  /** B's application does not read before this time (flow-control tests). */
  readerPausedUntilMs?: number;
  /** Called after every step, e.g. to record memory use. */
  observe?: (sim: Simulation) => void;
}

export interface SimResult {
  done: boolean;
  /** Virtual time when both streams were fully delivered (or when the run stopped). */
  elapsedMs: number;
  statsA: ChannelStats;
  statsB: ChannelStats;
  linkAtoB: LinkCounters;
  linkBtoA: LinkCounters;
  /** Goodput A→B in Mbit/s. */
  goodputMbps: number;
}

export class SimPeer {
  written = 0;
  verified = 0;
  readonly data: Buffer;
  constructor(
    readonly name: string,
    readonly channel: ReliableChannel,
    bytesToSend: number,
    rng: Prng,
  ) {
    this.data = rng.bytes(bytesToSend);
  }
}

export class Simulation {
  now = 0;
  readonly events = new EventQueue();
  readonly a: SimPeer;
  readonly b: SimPeer;
  readonly linkAtoB: Link;
  readonly linkBtoA: Link;
  private readonly rng: Prng;

  constructor(readonly opts: SimOptions) {
    this.rng = new Prng(opts.seed);
    const overhead = opts.channel?.overhead ?? 0;
    const chOpts = { ...opts.channel, now: 0 };
    this.a = new SimPeer("A", new ReliableChannel(chOpts), opts.bytesAtoB, this.rng);
    this.b = new SimPeer("B", new ReliableChannel(chOpts), opts.bytesBtoA ?? 0, this.rng);
    this.linkAtoB = new Link(opts.linkAtoB, this.rng, this.events, overhead);
    this.linkBtoA = new Link(opts.linkBtoA ?? opts.linkAtoB, this.rng, this.events, overhead);
  }

  run(): SimResult {
    const maxTime = this.opts.maxTimeMs ?? 600_000;
    let sameTimeSteps = 0;
    let lastTime = -1;
    for (;;) {
      this.pump(this.a, this.b, this.linkAtoB);
      this.pump(this.b, this.a, this.linkBtoA);
      this.opts.observe?.(this);
      if (this.finished()) break;
      const next = Math.min(
        this.events.peekTime(),
        this.a.channel.nextTimeout() ?? Number.POSITIVE_INFINITY,
        this.b.channel.nextTimeout() ?? Number.POSITIVE_INFINITY,
        this.readerResumeTime(),
      );
      if (next === Number.POSITIVE_INFINITY || next > maxTime) break;
      this.now = Math.max(this.now, next);
      if (this.now === lastTime) {
        if (++sameTimeSteps > 10_000) throw new Error(`livelock at t=${this.now}`);
      } else {
        sameTimeSteps = 0;
        lastTime = this.now;
      }
      while (this.events.peekTime() <= this.now) this.events.pop()?.run();
    }
    const elapsed = this.now;
    return {
      done: this.finished(),
      elapsedMs: elapsed,
      statsA: this.a.channel.stats(),
      statsB: this.b.channel.stats(),
      linkAtoB: this.linkAtoB.counters,
      linkBtoA: this.linkBtoA.counters,
      goodputMbps: elapsed > 0 ? (this.b.verified * 8) / (elapsed * 1000) : 0,
    };
  }

  /** Writes, sends, and reads/verifies for one side. */
  private pump(self: SimPeer, peer: SimPeer, link: Link): void {
    const ch = self.channel;
    const maxChunk = this.opts.maxChunk ?? 32 * 1024;
    while (self.written < self.data.length && ch.writable) {
      const n = Math.min(this.rng.int(1, maxChunk), self.data.length - self.written);
      ch.write(self.data.subarray(self.written, self.written + n), this.now);
      self.written += n;
    }
    for (let pkt = ch.poll(this.now); pkt !== null; pkt = ch.poll(this.now)) {
      link.send(this.now, pkt, (p, at) => peer.channel.receive(p, at));
    }
    if (self === this.b && this.now < (this.opts.readerPausedUntilMs ?? 0)) return;
    for (let chunk = ch.read(); chunk !== null; chunk = ch.read()) {
      const expected = peer.data.subarray(self.verified, self.verified + chunk.length);
      if (chunk.length > expected.length || !chunk.equals(expected)) {
        throw new Error(`${self.name} received wrong bytes at offset ${self.verified}`);
      }
      self.verified += chunk.length;
    }
  }

  private readerResumeTime(): number {
    const t = this.opts.readerPausedUntilMs ?? 0;
    return t > this.now ? t : Number.POSITIVE_INFINITY;
  }

  private finished(): boolean {
    return this.b.verified === this.a.data.length && this.a.verified === this.b.data.length;
  }
}

export function simulate(opts: SimOptions): SimResult {
  return new Simulation(opts).run();
}
