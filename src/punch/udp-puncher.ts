/**
 * One UDP hole-punching attempt towards one peer, as a sans-I/O state machine (ICE-like
 * connectivity checks, RFC 8445 §7, cut down to what two NATed peers need).
 *
 *   start(now)               prime our NAT (short-TTL PING to every non-LAN candidate), and from
 *                            `startAt` on, PING every candidate on a backing-off schedule
 *   handle(packet, from, now) answer authenticated PINGs with a PONG to their source; a PING from an
 *                            unknown address adds a peer-reflexive candidate; a PONG to one of our
 *                            txids proves that candidate both ways and selects the path
 *   tick(now) / nextTimer()  the schedule, the LAN-preference window and the budget
 *
 * Every call returns outputs: `send` actions for the adapter, and at most once in the attempt's
 * life a `connected` or `failed` result. After `failed` the attempt is silent. After `connected`
 * it only answers PINGs (the peer may still be punching), until the daemon routes this peer's
 * disco packets to its PathMonitor, which does the same and more. Packets per attempt are bounded
 * by the caps in constants.ts.
 */
import { type Endpoint, normalizeIp, sameEndpoint } from "../util/addr.js";
import type { Millis } from "../util/clock.js";
import type { Candidate, CandidateKind } from "../wire/candidate.js";
import * as K from "./constants.js";
import { type DiscoChannel, txidKey } from "./disco-channel.js";
import { describeNat, type MappingGuess, type NatHint } from "./nat-hint.js";

export interface PunchOptions {
  /** TTL of the primer; 0 sends no primer. */
  primerTtl?: number;
  budgetMs?: number;
  /** Our public endpoint as the introducer saw it: lets the result say whether our NAT is symmetric. */
  ourSrflx?: Endpoint;
  /** What an earlier path or netcheck learned about our NAT; named in a failure that saw nothing. */
  ourMapping?: MappingGuess;
  firstIntervalMs?: number;
  backoff?: number;
  maxIntervalMs?: number;
  hostPreferWindowMs?: number;
  maxPingsPerCandidate?: number;
}

export interface PunchSend {
  type: "send";
  to: Endpoint;
  packet: Buffer;
  /** Send with this IP TTL (the primer); absent means the socket's default. */
  ttl?: number;
}

export interface PunchConnected {
  type: "connected";
  endpoint: Endpoint;
  candidateKind: CandidateKind;
  rttMs: number;
  /** Our endpoint as the peer saw it on this path. */
  observedSelf: Endpoint;
  natHint: NatHint;
}

export type CandidateOutcome = "answered" | "pinged-us-only" | "no-reply";

export interface CandidateReport {
  kind: CandidateKind;
  endpoint: Endpoint;
  pingsSent: number;
  pongsReceived: number;
  /** Authenticated PINGs that came from this address. */
  pingsReceived: number;
  /** "no-reply" also covers ICMP errors: a user-space UDP socket does not see them. */
  outcome: CandidateOutcome;
  rttMs?: number;
  observedSelf?: Endpoint;
}

export interface PunchFailed {
  type: "failed";
  code: "PUNCH_TIMEOUT" | "PUNCH_NO_CANDIDATES";
  reason: string;
  tried: CandidateReport[];
  natHint: NatHint;
}

export type PunchOutput = PunchSend | PunchConnected | PunchFailed;

export type PunchState = "waiting" | "probing" | "choosing" | "connected" | "failed";

interface Probe {
  kind: CandidateKind;
  endpoint: Endpoint;
  sent: number;
  nextAt: Millis;
  interval: Millis;
  pongs: number;
  pingsIn: number;
  rttMs?: number;
  observedSelf?: Endpoint;
}

const KIND_RANK: Record<CandidateKind, number> = { host: 0, srflx: 1, prflx: 2, tcp: 3 };

export class UdpPuncher {
  private phase: PunchState = "waiting";
  readonly counters = { unknownPongs: 0, ignoredAfterResult: 0, prflxRefused: 0, pongsSent: 0 };
  private readonly probes: Probe[] = [];
  private readonly outstanding = new Map<string, { probe: Probe; sentAt: Millis }>();
  private readonly o: Required<Omit<PunchOptions, "ourSrflx" | "ourMapping">> &
    Pick<PunchOptions, "ourSrflx" | "ourMapping">;
  private deadline = Number.POSITIVE_INFINITY;
  private chooseBy = Number.POSITIVE_INFINITY;
  private chosen: Probe | undefined;
  private readonly pingSources: Endpoint[] = [];

  constructor(
    private readonly disco: DiscoChannel,
    candidates: readonly Candidate[],
    private startAt: Millis,
    options: PunchOptions = {},
  ) {
    this.o = {
      primerTtl: options.primerTtl ?? K.PRIMER_TTL,
      budgetMs: options.budgetMs ?? K.PUNCH_BUDGET_MS,
      ourSrflx: options.ourSrflx,
      ourMapping: options.ourMapping,
      firstIntervalMs: options.firstIntervalMs ?? K.PUNCH_FIRST_INTERVAL_MS,
      backoff: options.backoff ?? K.PUNCH_BACKOFF,
      maxIntervalMs: options.maxIntervalMs ?? K.PUNCH_MAX_INTERVAL_MS,
      hostPreferWindowMs: options.hostPreferWindowMs ?? K.HOST_PREFER_WINDOW_MS,
      maxPingsPerCandidate: options.maxPingsPerCandidate ?? K.PUNCH_MAX_PINGS_PER_CANDIDATE,
    };
    const usable = candidates.filter((c) => c.kind !== "tcp" && isUsable(c.endpoint));
    // The same address announced twice (e.g. no NAT: srflx == host) is one path, named by its best kind.
    usable.sort((a, b) => KIND_RANK[a.kind] - KIND_RANK[b.kind]);
    for (const c of usable) {
      if (this.probes.length >= K.PUNCH_MAX_CANDIDATES) break;
      if (!this.find(c.endpoint)) this.addProbe(c.kind, c.endpoint, startAt);
    }
  }

  get state(): PunchState {
    return this.phase;
  }

  get done(): boolean {
    return this.state === "connected" || this.state === "failed";
  }

  /** Primes our NAT now and probes at once if the start instant has already passed. */
  start(now: Millis): PunchOutput[] {
    this.deadline = Math.max(now, this.startAt) + this.o.budgetMs;
    if (this.probes.length === 0)
      return [this.fail("PUNCH_NO_CANDIDATES", "the peer has no usable UDP candidates")];
    const out: PunchOutput[] = [];
    if (this.o.primerTtl > 0) {
      for (const p of this.probes) {
        if (p.kind === "host") continue; // LAN addresses are not behind our NAT's mapping
        out.push({ ...this.ping(p, now), ttl: this.o.primerTtl });
      }
    }
    return out.concat(this.tick(now));
  }

  /**
   * The introducer moved the common start instant later: our ACK was lost or late, and the peer
   * was told the new instant. While waiting we simply start later. If we already began probing
   * (we acted on an earlier copy), we probe again from the new instant on, with a fresh schedule
   * and budget, because that is when the peer primes its NAT and starts answering; our early
   * probes may have hit its NAT first, and the prflx candidates its probes reveal cover a remap.
   */
  retime(startAt: Millis, now: Millis): boolean {
    if (startAt <= this.startAt || startAt <= now) return false;
    if (this.state !== "waiting" && this.state !== "probing") return false;
    this.phase = "waiting";
    this.startAt = startAt;
    this.deadline = startAt + this.o.budgetMs;
    for (const p of this.probes) {
      p.nextAt = startAt;
      p.interval = this.o.firstIntervalMs;
      p.sent = 0;
    }
    return true;
  }

  tick(now: Millis): PunchOutput[] {
    if (this.done) return [];
    if (now >= this.deadline) return [this.fail("PUNCH_TIMEOUT", this.timeoutReason())];
    if (this.state === "choosing" && now >= this.chooseBy) return [this.connect(this.chosen!)];
    if (this.state === "waiting" && now >= this.startAt) this.phase = "probing";
    return this.sendDue(now);
  }

  /** When tick() wants to run next; undefined once the attempt has its result. */
  nextTimer(): Millis | undefined {
    if (this.done) return undefined;
    let t = Math.min(this.deadline, this.chooseBy);
    for (const p of this.probes) if (this.mayPing(p)) t = Math.min(t, p.nextAt);
    return t;
  }

  handle(packet: Buffer, from: Endpoint, now: Millis): PunchOutput[] {
    if (this.state === "connected") return this.answerLate(packet, from);
    if (this.done) {
      this.counters.ignoredAfterResult++;
      return [];
    }
    // A packet after the budget ends the attempt even if the timer has not fired yet.
    if (now >= this.deadline) return this.tick(now);
    const msg = this.disco.open(packet);
    if (!msg) return [];
    if (msg.type === "ping") return this.onPing(msg.txid, from, now);
    return this.onPong(msg.txid, msg.observed, now);
  }

  /** Per-candidate results so far (also part of `failed`). */
  report(): CandidateReport[] {
    return this.probes.map((p) => ({
      kind: p.kind,
      endpoint: p.endpoint,
      pingsSent: p.sent,
      pongsReceived: p.pongs,
      pingsReceived: p.pingsIn,
      outcome: p.pongs > 0 ? "answered" : p.pingsIn > 0 ? "pinged-us-only" : "no-reply",
      ...(p.rttMs !== undefined ? { rttMs: p.rttMs } : {}),
      ...(p.observedSelf ? { observedSelf: p.observedSelf } : {}),
    }));
  }

  /**
   * After connecting, the peer may still wait for our answer (our PONG to its PING may have been
   * lost, or its PONG reached us first). Until the daemon routes disco to the PathMonitor, keep
   * answering PINGs, and nothing else.
   */
  private answerLate(packet: Buffer, from: Endpoint): PunchOutput[] {
    const msg = this.disco.open(packet);
    if (msg?.type !== "ping") {
      this.counters.ignoredAfterResult++;
      return [];
    }
    return this.pong(msg.txid, from);
  }

  private pong(txid: Buffer, to: Endpoint): PunchSend[] {
    if (this.counters.pongsSent >= K.PUNCH_MAX_PONGS) return [];
    this.counters.pongsSent++;
    return [{ type: "send", to, packet: this.disco.pong(txid, to) }];
  }

  private onPing(txid: Buffer, from: Endpoint, now: Millis): PunchOutput[] {
    const out: PunchOutput[] = this.pong(txid, from);
    let probe = this.find(from);
    if (!probe) probe = this.addPrflx(from, now);
    if (probe) {
      probe.pingsIn++;
      if (probe.kind !== "host" && !this.pingSources.some((e) => sameEndpoint(e, from)))
        this.pingSources.push(from);
      // Triggered check (RFC 8445 §7.3.1.4): the peer's packet got through, so its NAT expects
      // ours now; answer with our own ping at once instead of waiting for the schedule.
      if (probe.pongs === 0) probe.nextAt = Math.min(probe.nextAt, now);
    }
    return out.concat(this.sendDue(now));
  }

  private onPong(txid: Buffer, observed: Endpoint, now: Millis): PunchOutput[] {
    const key = txidKey(txid);
    const sent = this.outstanding.get(key);
    if (!sent) {
      this.counters.unknownPongs++;
      return [];
    }
    this.outstanding.delete(key);
    const p = sent.probe;
    p.pongs++;
    p.rttMs ??= now - sent.sentAt;
    p.observedSelf ??= observed;
    if (p.kind === "host") return [this.connect(p)];
    if (this.state === "choosing") return [];
    const hostPending = this.probes.some((q) => q.kind === "host" && this.mayPing(q));
    if (!hostPending) return [this.connect(p)];
    this.phase = "choosing";
    this.chosen = p;
    this.chooseBy = now + this.o.hostPreferWindowMs;
    return [];
  }

  private sendDue(now: Millis): PunchSend[] {
    const out: PunchSend[] = [];
    for (const p of this.probes) {
      if (!this.mayPing(p) || p.nextAt > now) continue;
      out.push(this.ping(p, now));
      p.nextAt = now + p.interval;
      p.interval = Math.min(p.interval * this.o.backoff, this.o.maxIntervalMs);
    }
    return out;
  }

  private ping(p: Probe, now: Millis): PunchSend {
    const { txid, packet } = this.disco.ping();
    this.outstanding.set(txidKey(txid), { probe: p, sentAt: now });
    p.sent++;
    return { type: "send", to: p.endpoint, packet };
  }

  /** Within its ping budget; while choosing, only LAN candidates still matter. */
  private mayPing(p: Probe): boolean {
    return p.sent < this.o.maxPingsPerCandidate && (this.state !== "choosing" || p.kind === "host");
  }

  private addProbe(kind: CandidateKind, endpoint: Endpoint, nextAt: Millis): Probe {
    const p: Probe = {
      kind,
      endpoint,
      sent: 0,
      nextAt,
      interval: this.o.firstIntervalMs,
      pongs: 0,
      pingsIn: 0,
    };
    this.probes.push(p);
    return p;
  }

  private addPrflx(from: Endpoint, now: Millis): Probe | undefined {
    const prflx = this.probes.filter((p) => p.kind === "prflx").length;
    if (prflx >= K.PUNCH_MAX_PRFLX || this.probes.length >= K.PUNCH_MAX_CANDIDATES) {
      this.counters.prflxRefused++;
      return undefined;
    }
    return this.addProbe("prflx", from, now);
  }

  private find(e: Endpoint): Probe | undefined {
    return this.probes.find((p) => sameEndpoint(p.endpoint, e));
  }

  private connect(p: Probe): PunchConnected {
    this.phase = "connected";
    this.outstanding.clear();
    return {
      type: "connected",
      endpoint: p.endpoint,
      candidateKind: p.kind,
      rttMs: p.rttMs ?? 0,
      observedSelf: p.observedSelf!,
      natHint: this.natHint(),
    };
  }

  private fail(code: PunchFailed["code"], reason: string): PunchFailed {
    this.phase = "failed";
    this.outstanding.clear();
    return { type: "failed", code, reason, tried: this.report(), natHint: this.natHint() };
  }

  private timeoutReason(): string {
    const sent = this.probes.reduce((n, p) => n + p.sent, 0);
    return `no candidate answered within ${this.o.budgetMs} ms (${sent} pings to ${this.probes.length} address(es))`;
  }

  private natHint(): NatHint {
    const wan = this.probes.filter((p) => p.kind !== "host");
    return describeNat({
      ourSrflx: this.o.ourSrflx,
      knownOurs: this.o.ourMapping,
      peerSrflx: this.probes.filter((p) => p.kind === "srflx").map((p) => p.endpoint),
      observedSelf: wan.flatMap((p) => (p.observedSelf ? [p.observedSelf] : [])),
      pingSources: this.pingSources,
      pingsSent: this.probes.reduce((n, p) => n + p.sent, 0),
      pingsReceived: this.probes.reduce((n, p) => n + p.pingsIn, 0),
      pongsReceived: this.probes.reduce((n, p) => n + p.pongs, 0),
      candidatesTried: this.probes.length,
    });
  }
}

function isUsable(e: Endpoint): boolean {
  const h = normalizeIp(e.host);
  return Number.isInteger(e.port) && e.port > 0 && e.port <= 65535 && h !== "0.0.0.0" && h !== "::";
}
