/**
 * Watches a punched UDP path, sans-I/O: keeps the NAT mappings open, measures RTT, notices when
 * the path dies, and answers the peer's PINGs (the peer's puncher may still be probing, and its
 * monitor keeps pinging us).
 *
 *   keepalive  a PING when nothing arrived from the peer for KEEPALIVE_INTERVAL_MS; session
 *              traffic (noteTraffic) and the peer's own PINGs over the path postpone it, so a
 *              busy path costs no probes and an idle one one PING/PONG per interval, not two
 *   loss       a keepalive unanswered within PONG_TIMEOUT_MS is a miss; after a miss the next
 *              PING goes at once; LOST_AFTER_MISSES misses in a row → `lost` (once), then inert
 *   rtt        every PONG gives a sample: `lastRttMs` and the smoothed `srttMs` (EWMA, gain 1/8)
 *   probe()    on-demand PING (`p2ptun ping`): its PONG gives `probe-result`, or `probe-timeout`
 */
import { type Endpoint, sameEndpoint } from "../util/addr.js";
import type { Millis } from "../util/clock.js";
import * as K from "./constants.js";
import { type DiscoChannel, txidKey } from "./disco-channel.js";

export interface PathMonitorOptions {
  keepaliveMs?: number;
  pongTimeoutMs?: number;
  lostAfterMisses?: number;
  /** Seeds the smoothed RTT, e.g. with the puncher's measurement. */
  initialRttMs?: number;
}

export type MonitorOutput =
  | { type: "send"; to: Endpoint; packet: Buffer }
  | { type: "probe-result"; txid: string; rttMs: number; observedSelf: Endpoint }
  | { type: "probe-timeout"; txid: string }
  | { type: "lost"; misses: number; lastHeardAt: Millis }
  /** An authenticated PING came from another address than the path: the peer roamed or was re-mapped. */
  | { type: "peer-endpoint"; endpoint: Endpoint };

export interface PathStats {
  srttMs?: number;
  lastRttMs?: number;
  /** Consecutive unanswered keepalives. */
  misses: number;
  lastHeardAt: Millis;
  keepalivesSent: number;
  pongsReceived: number;
}

interface Outstanding {
  sentAt: Millis;
  onDemand: boolean;
}

export class PathMonitor {
  readonly stats: PathStats;
  private dead = false;
  private readonly o: Required<Omit<PathMonitorOptions, "initialRttMs">>;
  private readonly outstanding = new Map<string, Outstanding>();
  private lastKeepaliveAt: Millis = Number.NEGATIVE_INFINITY;
  private keepaliveOut = false;
  private lastReportedPeer: Endpoint;

  /** True once the path was declared lost; the monitor is inert from then on. */
  get lost(): boolean {
    return this.dead;
  }

  constructor(
    private readonly disco: DiscoChannel,
    readonly path: Endpoint,
    now: Millis,
    options: PathMonitorOptions = {},
  ) {
    this.o = {
      keepaliveMs: options.keepaliveMs ?? K.KEEPALIVE_INTERVAL_MS,
      pongTimeoutMs: options.pongTimeoutMs ?? K.PONG_TIMEOUT_MS,
      lostAfterMisses: options.lostAfterMisses ?? K.LOST_AFTER_MISSES,
    };
    // The path was proven just now, by the punch.
    this.stats = { misses: 0, lastHeardAt: now, keepalivesSent: 0, pongsReceived: 0 };
    if (options.initialRttMs !== undefined) this.stats.srttMs = options.initialRttMs;
    this.lastReportedPeer = path;
  }

  /** Call when an authenticated session packet arrived from the peer over this path. */
  noteTraffic(now: Millis): void {
    if (this.lost) return;
    this.stats.lastHeardAt = Math.max(this.stats.lastHeardAt, now);
    this.stats.misses = 0;
  }

  /** An on-demand probe; `padTo` pads the PING to that datagram size (path MTU checks). */
  probe(now: Millis, opts: { padTo?: number } = {}): { txid: string; actions: MonitorOutput[] } {
    const { txid, packet } = this.disco.ping(opts.padTo);
    const key = txidKey(txid);
    // A lost path is not probed: the daemon re-punches, and the answer is "timeout" right away.
    if (this.lost) return { txid: key, actions: [{ type: "probe-timeout", txid: key }] };
    const out: MonitorOutput[] = [];
    if (this.outstanding.size >= K.MAX_OUTSTANDING_PROBES) out.push(...this.dropOldestProbe());
    this.outstanding.set(key, { sentAt: now, onDemand: true });
    out.push({ type: "send", to: this.path, packet });
    return { txid: key, actions: out };
  }

  handle(packet: Buffer, from: Endpoint, now: Millis): MonitorOutput[] {
    if (this.lost) return [];
    const msg = this.disco.open(packet);
    if (!msg) return [];
    if (msg.type === "ping") {
      const out: MonitorOutput[] = [{ type: "send", to: from, packet: this.disco.pong(msg.txid, from) }];
      // The peer's keepalive over our path refreshes both NATs' mappings as well as ours would:
      // count it as heard, so only one side pings an idle path (our pong answers it).
      if (sameEndpoint(from, this.path)) this.stats.lastHeardAt = Math.max(this.stats.lastHeardAt, now);
      if (!sameEndpoint(from, this.lastReportedPeer)) {
        this.lastReportedPeer = from;
        out.push({ type: "peer-endpoint", endpoint: from });
      }
      return out;
    }
    const key = txidKey(msg.txid);
    const sent = this.outstanding.get(key);
    if (!sent) return [];
    this.outstanding.delete(key);
    this.sample(now - sent.sentAt);
    this.stats.pongsReceived++;
    this.stats.lastHeardAt = Math.max(this.stats.lastHeardAt, now);
    this.stats.misses = 0;
    if (!sent.onDemand) {
      this.keepaliveOut = false;
      return [];
    }
    return [{ type: "probe-result", txid: key, rttMs: now - sent.sentAt, observedSelf: msg.observed }];
  }

  tick(now: Millis): MonitorOutput[] {
    if (this.lost) return [];
    const out = this.expire(now);
    if (this.lost) return out;
    if (!this.keepaliveOut && now >= this.keepaliveDue()) {
      const { txid, packet } = this.disco.ping();
      this.outstanding.set(txidKey(txid), { sentAt: now, onDemand: false });
      this.keepaliveOut = true;
      this.lastKeepaliveAt = now;
      this.stats.keepalivesSent++;
      out.push({ type: "send", to: this.path, packet });
    }
    return out;
  }

  /** When tick() wants to run next; undefined once the path is lost. */
  nextTimer(): Millis | undefined {
    if (this.lost) return undefined;
    let t = this.keepaliveOut ? Number.POSITIVE_INFINITY : this.keepaliveDue();
    for (const s of this.outstanding.values()) t = Math.min(t, s.sentAt + this.o.pongTimeoutMs);
    return t;
  }

  private keepaliveDue(): Millis {
    // After a miss, probe again at once; otherwise after an idle interval.
    if (this.stats.misses > 0) return this.lastKeepaliveAt;
    return Math.max(this.stats.lastHeardAt, this.lastKeepaliveAt) + this.o.keepaliveMs;
  }

  private expire(now: Millis): MonitorOutput[] {
    const out: MonitorOutput[] = [];
    for (const [key, s] of this.outstanding) {
      if (now < s.sentAt + this.o.pongTimeoutMs) continue;
      this.outstanding.delete(key);
      if (s.onDemand) {
        out.push({ type: "probe-timeout", txid: key });
        continue;
      }
      this.keepaliveOut = false;
      // Traffic that arrived after this keepalive left proves the path; the probe was just lost.
      if (this.stats.lastHeardAt > s.sentAt) continue;
      this.stats.misses++;
      if (this.stats.misses >= this.o.lostAfterMisses) {
        this.dead = true;
        this.outstanding.clear();
        out.push({ type: "lost", misses: this.stats.misses, lastHeardAt: this.stats.lastHeardAt });
        break;
      }
    }
    return out;
  }

  private dropOldestProbe(): MonitorOutput[] {
    for (const [key, s] of this.outstanding) {
      if (!s.onDemand) continue;
      this.outstanding.delete(key);
      return [{ type: "probe-timeout", txid: key }];
    }
    return [];
  }

  private sample(rtt: Millis): void {
    this.stats.lastRttMs = rtt;
    const s = this.stats.srttMs;
    this.stats.srttMs = s === undefined ? rtt : s + (rtt - s) * K.RTT_EWMA_GAIN;
  }
}
