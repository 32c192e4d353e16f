/**
 * Sends datagrams on the daemon's one UDP socket, some with a short IP TTL (the punch primer).
 *
 * Node sets the TTL per socket (setTTL), not per datagram, and a send may complete after send()
 * returns: dgram resolves the address first (asynchronously, unless the socket was made with
 * `literalLookup`), and a datagram the kernel cannot take at once waits in libuv's queue. Either
 * way the kernel sends it with whatever TTL the socket has *then*. So a TTL send waits until
 * every earlier send has completed (else a datagram queued just before it, e.g. the ACK of the
 * introduction that starts the punch, leaves with the short TTL and dies one router away), sets
 * the TTL, sends, and restores the default in the send callback; any send asked for meanwhile
 * (introducer traffic, other peers' sessions) waits in the queue. Use this sender for every send
 * on the socket.
 *
 * `post` is the hot path (every tunnel packet): a callback, no Promise; `send` wraps it for
 * callers that want to await the hand-over.
 */
import type { Endpoint } from "../util/addr.js";
import type { Datagram } from "../wire/datagram.js";

/** The part of dgram.Socket this needs. */
export interface TtlSocket {
  send(msg: Datagram, port: number, address: string, callback: (error: Error | null) => void): void;
  setTTL(ttl: number): number;
}

/** Linux's default IPv4 TTL (net.ipv4.ip_default_ttl); Node cannot read the current value. */
export const DEFAULT_TTL = 64;

/** Told the outcome of one send: null once the kernel has the datagram, else the error. */
export type SendDone = (error: Error | null) => void;

interface Job {
  packet: Datagram;
  to: Endpoint;
  ttl?: number;
  done?: SendDone;
}

export class UdpSender {
  readonly counters = { sent: 0, ttlSends: 0, errors: 0 };
  private readonly queue: Job[] = [];
  private ttlInFlight = false;
  /** Default-TTL sends handed to the socket whose callback has not come yet. */
  private plainInFlight = 0;

  constructor(
    private readonly socket: TtlSocket,
    private readonly defaultTtl = DEFAULT_TTL,
  ) {}

  /** Resolves when the datagram was handed to the kernel; rejects with the socket's error. */
  send(packet: Datagram, to: Endpoint, ttl?: number): Promise<void> {
    return new Promise((resolve, reject) => this.post(packet, to, ttl, (e) => (e ? reject(e) : resolve())));
  }

  /** Sends now when nothing must go first (the common case), else queues; `done` is told the outcome. */
  post(packet: Datagram, to: Endpoint, ttl?: number, done?: SendDone): void {
    const job: Job = { packet, to, ttl, done };
    if (this.queue.length === 0 && !this.ttlInFlight && !this.needsTtl(job)) this.run(job);
    else {
      this.queue.push(job);
      this.drain();
    }
  }

  private needsTtl(job: Job): boolean {
    return job.ttl !== undefined && job.ttl !== this.defaultTtl;
  }

  private run(job: Job): void {
    if (job.ttl === undefined || job.ttl === this.defaultTtl) {
      this.plainInFlight++;
      this.trySend(job, (err) => {
        this.plainInFlight--;
        this.settle(job, err);
        this.drain();
      });
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

  /** Runs queued jobs in order; a TTL job waits for the sends before it to leave first. */
  private drain(): void {
    while (!this.ttlInFlight && this.queue.length > 0) {
      if (this.plainInFlight > 0 && this.needsTtl(this.queue[0])) return;
      this.run(this.queue.shift()!);
    }
  }

  private settle(job: Job, err: Error | null): void {
    if (err) this.counters.errors++;
    else this.counters.sent++;
    job.done?.(err);
  }
}
