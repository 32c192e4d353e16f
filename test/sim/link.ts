/**
 * One direction of a simulated network path: random loss, duplication, extra-delay reordering,
 * jitter, an MTU that silently drops bigger datagrams, and a bottleneck with a drop-tail queue.
 */
import type { EventQueue } from "./event-queue.js";
import type { Prng } from "./prng.js";

export interface LinkConfig {
  /** One-way propagation delay. */
  delayMs: number;
  /** Extra uniform random delay in [0, jitterMs) per packet (reorders packets). */
  jitterMs?: number;
  /** Probability a packet is dropped (0..1), independent of everything else. */
  loss?: number;
  /** Probability a packet is delivered twice. */
  duplicate?: number;
  /** Probability a packet is held back by reorderDelayMs. */
  reorder?: number;
  reorderDelayMs?: number;
  /** Bottleneck rate; unlimited when absent. */
  bandwidthMbps?: number;
  /** Drop-tail queue in front of the bottleneck. */
  queueBytes?: number;
  /** Datagrams larger than this (wire size) are dropped. */
  mtu?: number;
}

export interface LinkCounters {
  sent: number;
  delivered: number;
  randomDrops: number;
  queueDrops: number;
  mtuDrops: number;
  duplicates: number;
}

export class Link {
  readonly counters: LinkCounters = {
    sent: 0,
    delivered: 0,
    randomDrops: 0,
    queueDrops: 0,
    mtuDrops: 0,
    duplicates: 0,
  };
  private busyUntil = 0;
  private readonly bytesPerMs: number;

  constructor(
    readonly config: LinkConfig,
    private readonly rng: Prng,
    private readonly events: EventQueue,
    /** Bytes the (absent) session layer would add; counts for MTU and bandwidth. */
    private readonly overhead: number,
  ) {
    this.bytesPerMs = config.bandwidthMbps ? (config.bandwidthMbps * 1e6) / 8 / 1000 : 0;
  }

  send(now: number, packet: Buffer, deliver: (packet: Buffer, at: number) => void): void {
    const c = this.config;
    const wire = packet.length + this.overhead;
    this.counters.sent++;
    if (c.mtu !== undefined && wire > c.mtu) {
      this.counters.mtuDrops++;
      return;
    }
    if (c.loss && this.rng.next() < c.loss) {
      this.counters.randomDrops++;
      return;
    }
    let depart = now;
    if (this.bytesPerMs > 0) {
      const queued = Math.max(0, this.busyUntil - now) * this.bytesPerMs;
      if (queued + wire > (c.queueBytes ?? Number.POSITIVE_INFINITY)) {
        this.counters.queueDrops++;
        return;
      }
      depart = Math.max(now, this.busyUntil) + wire / this.bytesPerMs;
      this.busyUntil = depart;
    }
    const copies = c.duplicate && this.rng.next() < c.duplicate ? 2 : 1;
    if (copies === 2) this.counters.duplicates++;
    for (let i = 0; i < copies; i++) {
      let at = depart + c.delayMs;
      if (c.jitterMs) at += this.rng.next() * c.jitterMs;
      if (c.reorder && this.rng.next() < c.reorder) at += c.reorderDelayMs ?? c.delayMs;
      // The receiver gets its own copy, as from a socket.
      const copy = Buffer.from(packet);
      this.events.push(at, () => {
        this.counters.delivered++;
        deliver(copy, at);
      });
    }
  }
}
