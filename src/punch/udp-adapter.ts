/**
 * Sends datagrams on the daemon's one UDP socket, some with a short IP TTL (the punch primer).
 *
 * Node sets the TTL per socket (setTTL), not per datagram, and a send completes asynchronously.
 * So a TTL send sets the TTL, sends, and restores the default in the send callback; any send asked
 * for meanwhile (introducer traffic, other peers' sessions) waits in a queue, otherwise it would
 * leave with the short TTL and die one router away. Use this sender for every send on the socket.
 */
import type { Endpoint } from "../util/addr.js";

/** The part of dgram.Socket this needs. */
export interface TtlSocket {
  send(msg: Buffer, port: number, address: string, callback: (error: Error | null) => void): void;
  setTTL(ttl: number): number;
}

/** Linux's default IPv4 TTL (net.ipv4.ip_default_ttl); Node cannot read the current value. */
export const DEFAULT_TTL = 64;

interface Job {
  packet: Buffer;
  to: Endpoint;
  ttl?: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class UdpSender {
  readonly counters = { sent: 0, ttlSends: 0, errors: 0 };
  private readonly queue: Job[] = [];
  private ttlInFlight = false;

  constructor(
    private readonly socket: TtlSocket,
    private readonly defaultTtl = DEFAULT_TTL,
  ) {}

  /** Resolves when the datagram was handed to the kernel; rejects with the socket's error. */
  send(packet: Buffer, to: Endpoint, ttl?: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const job: Job = { packet, to, ttl, resolve, reject };
      if (this.ttlInFlight) this.queue.push(job);
      else this.run(job);
    });
  }

  private run(job: Job): void {
    if (job.ttl === undefined || job.ttl === this.defaultTtl) {
      this.trySend(job, (err) => this.settle(job, err));
      return;
    }
    this.ttlInFlight = true;
    this.counters.ttlSends++;
    try {
      this.socket.setTTL(job.ttl);
    } catch (e) {
      // Not bound yet, or closed: nothing was sent and the TTL is unchanged.
      this.ttlInFlight = false;
      this.settle(job, e as Error);
      this.drain();
      return;
    }
    this.trySend(job, (err) => {
      try {
        this.socket.setTTL(this.defaultTtl);
      } catch {
        // The socket closed meanwhile; there is nothing left to restore.
      }
      this.ttlInFlight = false;
      this.settle(job, err);
      this.drain();
    });
  }

  /** dgram throws synchronously on a closed socket; report that through the callback too. */
  private trySend(job: Job, done: (err: Error | null) => void): void {
    try {
      this.socket.send(job.packet, job.to.port, job.to.host, done);
    } catch (e) {
      done(e as Error);
    }
  }

  private drain(): void {
    while (!this.ttlInFlight && this.queue.length > 0) this.run(this.queue.shift()!);
  }

  private settle(job: Job, err: Error | null): void {
    if (err) {
      this.counters.errors++;
      job.reject(err);
    } else {
      this.counters.sent++;
      job.resolve();
    }
  }
}
