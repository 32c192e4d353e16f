/**
 * One configured peer: how we reach it and what the link to it carries.
 *
 *   idle ──want──▶ connecting (ask introducers → introduction → punch → handshake) ──▶ connected
 *                      ▲                    │ punch failed / refused / no introduction
 *                      └──── backoff ◀── failed
 *   connected ──path lost──▶ connecting (re-punch; the link and its streams are kept)
 *
 * Packets and timers come in through the methods below; sending goes through the injected
 * `io`. The data plane (UdpLink) lives as long as the link leader says (LinkControl).
 */
import type { Duplex } from "node:stream";
import { StaticBox } from "../crypto/box.js";
import { DiscoChannel } from "../punch/disco-channel.js";
import { type MonitorOutput, PathMonitor } from "../punch/path-monitor.js";
import { type PunchOutput, UdpPuncher } from "../punch/udp-puncher.js";
import type { IncomingStream, MuxSession } from "../tunnel/mux/index.js";
import { StreamRefusedError, toStreamRefused } from "../tunnel/stream-errors.js";
import { type Endpoint, formatEndpoint, isLoopback, sameEndpoint } from "../util/addr.js";
import type { Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import type { Candidate } from "../wire/candidate.js";
import { decodeChannelPacket, decodeU32Message, INNER } from "../wire/inner.js";
import { type LinkAction, LinkControl } from "./link-control.js";
import { NO_CHANNEL_STATS, type PeerSource } from "./metrics-source.js";
import * as K from "./peer-constants.js";
import type { PathKind, PeerState, PeerStatus } from "./status-types.js";
import type { PeerTcpIo } from "./tcp-fallback.js";
import { TcpPath } from "./tcp-path.js";
import { UdpLink } from "./udp-link.js";

export interface PeerIo {
  /** A datagram on the daemon's UDP socket (ttl for the primer). */
  sendUdp(packet: Buffer, to: Endpoint, ttl?: number): void;
  /** Encrypts a payload to this peer over its session. */
  sendPayload(payload: Buffer): void;
  /** Starts (or restarts) the Noise handshake to this peer at `endpoint`. */
  connectSession(endpoint: Endpoint): void;
  /** Asks every registered introducer to introduce us; false when none is registered. */
  requestIntroduction(): boolean;
  /** Our public UDP endpoint as an introducer last saw it. */
  ourSrflx(): Endpoint | undefined;
  /** Re-arm this peer's timer (after anything that may change nextTimer()). */
  rearm(): void;
  /** The TCP fallback for this peer; absent when `punch.tcpFallback` is off. */
  tcp?: PeerTcpIo;
}

export interface PeerOptions {
  name: string;
  publicKey: Buffer;
  ourPrivate: Buffer;
  ourPublic: Buffer;
  /** True when a forward or SOCKS entry uses this peer: we connect on our own. */
  wanted: boolean;
  primerTtl: number;
  clock: Clock;
  logger: Logger;
  io: PeerIo;
  onStream: (peer: Peer, req: IncomingStream) => void;
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class Peer {
  readonly name: string;
  readonly publicKey: Buffer;
  readonly id: string;
  wanted: boolean;
  state: PeerState = "idle";
  reason: string | null = null;
  path: { kind: PathKind; endpoint: Endpoint } | null = null;
  link: UdpLink | null = null;
  /** The TCP path's link (a mux straight on the session); set while `path.kind` is "tcp". */
  readonly tcp: TcpPath;
  readonly counters = {
    bytesIn: 0,
    bytesOut: 0,
    punchAttempts: 0,
    punchSuccesses: 0,
    punchFailures: 0,
    linksCreated: 0,
  };
  private lastPacketAt: number | null = null;
  private readonly disco: DiscoChannel;
  private readonly linkCtl: LinkControl;
  private puncher: UdpPuncher | null = null;
  private monitor: PathMonitor | null = null;
  private failures = 0;
  private retryAt: number | undefined;
  private introductionDeadline: number | undefined;
  /**
   * One introduction is asked for every peer after our first registration, wanted or not: a peer
   * that still has a tunnel to our previous process (we restarted, new port) learns where we are
   * now and re-punches at once, instead of after its path monitor gives up (~16 s).
   */
  private announcePending = true;
  /** The attempt in flight is that announcement: its failure is not worth a retry or a warning. */
  private announcing = false;
  private readonly waiters = new Set<Waiter>();
  private readonly pingWaiters = new Map<string, (r: { rttMs: number } | null) => void>();
  private readonly log: Logger;

  constructor(private readonly o: PeerOptions) {
    this.name = o.name;
    this.publicKey = o.publicKey;
    this.id = o.publicKey.toString("base64");
    this.wanted = o.wanted;
    this.log = o.logger.child({ peer: o.name });
    const box = new StaticBox(o.ourPrivate, o.ourPublic, o.publicKey, "disco", Date.now());
    this.disco = new DiscoChannel(box, o.ourPublic, o.publicKey);
    this.linkCtl = new LinkControl(
      Buffer.compare(o.ourPublic, o.publicKey) < 0,
      () => (Math.random() * 2 ** 32) >>> 0,
    );
    this.tcp = new TcpPath({
      io: o.io.tcp,
      initiator: this.linkCtl.leader,
      clock: o.clock,
      onStream: (req) => o.onStream(this, req),
      countOut: (n) => {
        this.counters.bytesOut += n;
      },
    });
  }

  /** The introduction in flight is the one asked after start for a peer nothing of ours needs. */
  get isAnnouncing(): boolean {
    return this.announcing;
  }

  private now(): number {
    return this.o.clock.now();
  }

  private setState(state: PeerState, reason: string | null): void {
    if (state !== this.state || reason !== this.reason) {
      const level = state === "failed" ? "warn" : "info";
      this.log[level](
        { state, reason, path: this.path?.kind, endpoint: this.path && formatEndpoint(this.path.endpoint) },
        `peer ${this.name}: ${state}${reason ? ` (${reason})` : ""}`,
      );
    }
    this.state = state;
    this.reason = reason;
  }

  // ── control plane ─────────────────────────────────────────────────────────────────────────

  /** Starts connecting if we should and may (wanted, not already busy, backoff over). */
  maybeConnect(now: number): void {
    const announce = this.announcePending && !this.wanted && !this.link;
    if (!this.wanted && !this.link && !announce) return;
    if (this.state === "connected" || this.puncher) return;
    if (this.introductionDeadline !== undefined) return;
    if (this.retryAt !== undefined && now < this.retryAt) return;
    if (!this.o.io.requestIntroduction()) {
      if (this.state === "idle" && !announce)
        this.setState("connecting", "waiting to register with an introducer");
      return;
    }
    this.announcePending = false;
    this.announcing = announce;
    this.retryAt = undefined;
    this.introductionDeadline = now + K.INTRODUCTION_TIMEOUT_MS;
    if (announce) {
      this.log.debug(`peer ${this.name}: telling it where we are (one introduction after start)`);
      this.o.io.rearm();
      return;
    }
    this.setState("connecting", "asking the introducer to introduce us");
    this.o.io.rearm();
  }

  /** The introducer refused to introduce us (unknown, not registered, not accepted…). */
  onRefused(reason: string, now: number): void {
    if (this.state === "connected") return;
    this.introductionDeadline = undefined;
    this.fail(`the introducer refused: ${reason}`, now);
  }

  /** An introduction from any introducer: punch now, at the agreed instant. */
  onIntroduction(candidates: Candidate[], startAt: number, now: number): void {
    this.introductionDeadline = undefined;
    this.announcing = false;
    if (this.o.io.ourSrflx() === undefined && !candidates.some((c) => c.kind === "tcp")) {
      // We have no public UDP endpoint (UDP is blocked here: we were introduced over TCP) and the
      // peer offers no TCP endpoint (its TCP registration is usually a moment behind its UDP
      // one): no path can come of this introduction. Ask again shortly instead of spending the
      // UDP punch budget on a punch that cannot work.
      if (this.state === "connected") return;
      this.retryAt = now + K.NO_PATH_YET_RETRY_MS;
      this.setState("connecting", "UDP is blocked here and the peer has no TCP endpoint yet; asking again");
      this.o.io.rearm();
      return;
    }
    this.counters.punchAttempts++;
    this.puncher = new UdpPuncher(this.disco, candidates, startAt, {
      primerTtl: this.o.primerTtl,
      ourSrflx: this.o.io.ourSrflx(),
    });
    const list = candidates.map((c) => `${c.kind} ${formatEndpoint(c.endpoint)}`).join(", ");
    this.log.info(
      { candidates: list, startInMs: Math.round(startAt - now) },
      `peer ${this.name}: introduced, punching`,
    );
    if (this.state !== "connected") this.setState("connecting", `punching to ${list}`);
    this.runPunch(this.puncher.start(now), now);
  }

  /**
   * Our public endpoint changed (the NAT's address or mapping moved): the peer's path to us is
   * stale, and only an introduction tells it the new one. Ask for one now rather than waiting for
   * the path monitors to give up; the punch runs beside the old path (see runPunch).
   */
  onOurEndpointChanged(): void {
    if (this.state !== "connected" || this.puncher || this.introductionDeadline !== undefined) return;
    if (!this.o.io.requestIntroduction()) return;
    this.log.info(`peer ${this.name}: our public endpoint changed; re-punching`);
  }

  /** The introducer moved the start instant of the introduction we are waiting on. */
  onRetimed(startAt: number, now: number): void {
    if (!this.puncher?.retime(startAt, now)) return;
    this.log.info({ startInMs: Math.round(startAt - now) }, `peer ${this.name}: punch start moved later`);
    this.o.io.rearm();
  }

  private runPunch(out: PunchOutput[], now: number): void {
    for (const a of out) {
      if (a.type === "send") this.o.io.sendUdp(a.packet, a.to, a.ttl);
      else if (a.type === "connected") {
        this.puncher = null;
        this.counters.punchSuccesses++;
        if (this.tcp.active) {
          // Streams run on the TCP connection's mux; moving them to UDP is not supported yet.
          this.log.info(
            { endpoint: formatEndpoint(a.endpoint) },
            `peer ${this.name}: UDP path found; staying on TCP`,
          );
          continue;
        }
        this.o.io.tcp?.udpSucceeded();
        this.failures = 0;
        this.log.info(
          { endpoint: formatEndpoint(a.endpoint), kind: a.candidateKind, rttMs: a.rttMs },
          `peer ${this.name}: path found`,
        );
        this.usePath(a.endpoint, a.rttMs, now);
        if (this.state !== "connected")
          this.setState("connecting", `path found (${a.candidateKind}), handshaking`);
        this.o.io.connectSession(a.endpoint);
      } else {
        this.puncher = null;
        this.counters.punchFailures++;
        const tried = a.tried.map((t) => `${t.kind} ${formatEndpoint(t.endpoint)}: ${t.outcome}`).join("; ");
        this.log.warn(
          { code: a.code, tried: a.tried, natHint: a.natHint },
          `peer ${this.name}: punch failed: ${a.natHint.summary}`,
        );
        if (this.state === "connected") continue; // a re-punch while the old path still works
        const why = `${a.reason}. ${a.natHint.summary} [tried ${tried}]`;
        if (this.tcp.udpFailed(why)) {
          // The TCP fallback may have adopted its connection already (then we are handshaking).
          if (this.path?.kind !== "tcp")
            this.setState("connecting", `UDP did not get through (${a.natHint.summary}); trying TCP`);
          continue;
        }
        this.fail(this.tcp.failureReason(why), now);
      }
    }
  }

  private fail(reason: string, now: number): void {
    if (this.announcing) {
      // Nobody to tell (the peer is not registered, say): stay idle, no retries.
      this.announcing = false;
      this.log.debug({ reason }, `peer ${this.name}: not reachable now; waiting for it`);
      this.o.io.rearm();
      return;
    }
    this.failures++;
    const backoff = Math.min(K.RETRY_MAX_MS, K.RETRY_BASE_MS * 2 ** Math.min(this.failures - 1, 10));
    this.retryAt = now + backoff * (1 + K.RETRY_JITTER * Math.random());
    this.setState("failed", `${reason}; retrying in ${Math.round((this.retryAt - now) / 1000)} s`);
    this.rejectWaiters(reason);
    this.o.io.rearm();
  }

  private usePath(endpoint: Endpoint, rttMs: number | undefined, now: number): void {
    if (this.path && sameEndpoint(this.path.endpoint, endpoint) && this.monitor && !this.monitor.lost) return;
    this.path = { kind: "udp", endpoint };
    this.monitor = new PathMonitor(
      this.disco,
      endpoint,
      now,
      rttMs === undefined ? {} : { initialRttMs: rttMs },
    );
    this.o.io.rearm();
  }

  /** A disco packet from this peer (routing by sender key was done by the caller). */
  onDisco(packet: Buffer, from: Endpoint, now: number): void {
    if (this.puncher) {
      this.runPunch(this.puncher.handle(packet, from, now), now);
      return;
    }
    if (this.monitor && !this.monitor.lost) {
      this.runMonitor(this.monitor.handle(packet, from, now), now);
      return;
    }
    // Nobody is probing: still answer an authenticated PING, so the peer's punch can succeed
    // even if our introduction is late.
    const msg = this.disco.open(packet);
    if (msg?.type === "ping") this.o.io.sendUdp(this.disco.pong(msg.txid, from), from);
  }

  private runMonitor(out: MonitorOutput[], now: number): void {
    for (const a of out) {
      switch (a.type) {
        case "send":
          this.o.io.sendUdp(a.packet, a.to);
          break;
        case "probe-result":
          this.pingWaiters.get(a.txid)?.({ rttMs: a.rttMs });
          this.pingWaiters.delete(a.txid);
          break;
        case "probe-timeout":
          this.pingWaiters.get(a.txid)?.(null);
          this.pingWaiters.delete(a.txid);
          break;
        case "peer-endpoint":
          this.log.info(
            { endpoint: formatEndpoint(a.endpoint) },
            `peer ${this.name}: probes now come from a new address`,
          );
          break;
        case "lost":
          this.log.warn({ misses: a.misses }, `peer ${this.name}: path lost, re-punching`);
          this.setState("connecting", `path lost (${a.misses} probes unanswered); re-punching`);
          this.maybeReconnectAfterLoss(now);
          break;
      }
    }
  }

  private maybeReconnectAfterLoss(now: number): void {
    this.retryAt = undefined;
    this.introductionDeadline = undefined;
    const wanted = this.wanted;
    this.wanted = true; // the link may carry streams the peer opened: heal it either way
    this.maybeConnect(now);
    this.wanted = wanted;
  }

  // ── session events ────────────────────────────────────────────────────────────────────────

  onEstablished(endpoint: Endpoint, now: number): void {
    if (this.enterTcp(endpoint)) return;
    this.usePath(endpoint, undefined, now);
    this.setState("connected", null);
    this.failures = 0;
    this.link?.pathChanged(); // a re-punch: data stuck on the old path goes out now
    this.runLink(this.linkCtl.sessionUp(now));
    this.resolveWaiters();
  }

  onRoamed(endpoint: Endpoint, now: number): void {
    this.log.info({ endpoint: formatEndpoint(endpoint) }, `peer ${this.name}: roamed`);
    if (this.enterTcp(endpoint)) return;
    this.usePath(endpoint, undefined, now);
    this.link?.pathChanged();
    if (this.state !== "connected") this.setState("connected", null);
  }

  onHandshakeFailed(now: number): void {
    if (this.state === "connected") return;
    this.fail("the encrypted handshake got no answer over the punched path", now);
  }

  /** Decrypted session payload from this peer. */
  onPayload(payload: Buffer, now: number): void {
    this.lastPacketAt = now;
    this.counters.bytesIn += payload.length;
    this.monitor?.noteTraffic(now);
    const type = payload[0];
    if (type === INNER.MUX) {
      this.tcp.input(payload.subarray(1));
      return;
    }
    if (this.tcp.active) return; // the UDP link's messages mean nothing on the TCP path
    if (type === INNER.CHANNEL) {
      const p = decodeChannelPacket(payload);
      if (!p) return;
      const { ok, actions } = this.linkCtl.accepts(p.linkId, now);
      if (ok) this.link?.input(p.packet);
      this.runLink(actions);
      return;
    }
    if (type === INNER.LINK_OPEN || type === INNER.LINK_ACK || type === INNER.LINK_REQUEST) {
      const v = decodeU32Message(payload);
      if (v !== null) this.runLink(this.linkCtl.handle(type, v, now));
    }
  }

  private runLink(actions: LinkAction[]): void {
    for (const a of actions) {
      if (a.type === "send") this.o.io.sendPayload(a.payload);
      else this.createLink(a.id);
    }
    this.o.io.rearm();
  }

  private createLink(id: number): void {
    if (this.link) {
      this.log.info(
        { old: this.link.id, new: id },
        `peer ${this.name}: link replaced (peer restarted or link died)`,
      );
      this.link.close("link replaced");
    }
    this.counters.linksCreated++;
    const loopback = this.path ? isLoopback(this.path.endpoint.host) : false;
    this.link = new UdpLink({
      id,
      initiator: this.linkCtl.leader,
      maxDatagramSize: loopback ? K.LOOPBACK_MAX_DATAGRAM : K.INTERNET_MAX_DATAGRAM,
      loopback,
      clock: this.o.clock,
      sendPayload: (payload) => {
        this.counters.bytesOut += payload.length;
        this.o.io.sendPayload(payload);
      },
      onStream: (req) => this.o.onStream(this, req),
      onDead: (why) => {
        this.log.warn({ why }, `peer ${this.name}: link died`);
        this.runLink(this.linkCtl.needLink(this.now()));
      },
    });
    this.resolveWaiters();
  }

  // ── TCP path ──────────────────────────────────────────────────────────────────────────────

  /** The TCP fallback adopted a punched connection: start the session over it. */
  onTcpPath(endpoint: Endpoint): void {
    this.puncher = null; // UDP cannot work (or has failed): stop probing
    this.introductionDeadline = undefined;
    this.path = { kind: "tcp", endpoint };
    this.monitor = null;
    this.setState("connecting", `TCP connection to ${formatEndpoint(endpoint)} up; handshaking`);
    this.o.io.connectSession(endpoint);
    this.o.io.rearm();
  }

  /** The session is up over `endpoint`: if that is our TCP connection, run the link there. */
  private enterTcp(endpoint: Endpoint): boolean {
    const entered = this.tcp.enter(endpoint);
    if (!entered) return false;
    this.puncher = null;
    this.monitor = null;
    this.path = { kind: "tcp", endpoint };
    if (entered === "new") {
      // The UDP link (if any) is replaced by the TCP connection's own mux.
      this.link?.close("moved to tcp");
      this.link = null;
      this.linkCtl.reset();
    }
    this.failures = 0;
    this.retryAt = undefined;
    this.setState("connected", this.tcp.why());
    this.resolveWaiters();
    this.o.io.rearm();
    return true;
  }

  /** The TCP punch found no connection although we were waiting for it. */
  onTcpFailed(reason: string, now: number): void {
    if (this.state === "connected") return;
    if (!this.tcp.tcpFailed(reason, this.puncher !== null)) return; // UDP still running
    this.fail(this.tcp.failureReason(null), now);
  }

  /** Our adopted TCP connection closed: the link is gone; find a path again. */
  onTcpClosed(reason: string, now: number): void {
    if (!this.tcp.closed(reason)) return;
    this.path = null;
    this.log.warn({ reason }, `peer ${this.name}: TCP connection closed`);
    this.setState("connecting", `TCP connection closed (${reason}); reconnecting`);
    this.maybeReconnectAfterLoss(now);
  }

  // ── streams ───────────────────────────────────────────────────────────────────────────────

  /** Opens a stream to `target` on the peer, waiting a while for the link if it is not up. */
  async openStream(target: string): Promise<Duplex> {
    if (!this.mux) await this.waitForLink();
    const mux = this.mux;
    if (!mux) throw new StreamRefusedError("PEER_NOT_CONNECTED", `${this.name} is not connected`);
    try {
      return await mux.open(target);
    } catch (e) {
      throw toStreamRefused(e);
    }
  }

  private waitForLink(): Promise<void> {
    this.maybeConnect(this.now());
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          reject(
            new StreamRefusedError(
              "PEER_NOT_CONNECTED",
              `${this.name} is not connected (${this.reason ?? this.state})`,
            ),
          );
        }, K.STREAM_WAIT_MS),
      };
      this.waiters.add(w);
    });
  }

  /** The mux streams are opened on: the TCP connection's while on TCP, else the UDP link's. */
  get mux(): MuxSession | undefined {
    return this.tcp.mux ?? this.link?.mux;
  }

  /** The link in use, for metrics: its mux, and the reliable channel's counters on UDP (none on TCP). */
  linkStats(): PeerSource["link"] {
    const mux = this.mux;
    if (!mux) return null;
    const udp = this.link?.mux === mux ? this.link : undefined;
    return { key: mux, channel: udp ? udp.channel.stats() : NO_CHANNEL_STATS, mux: mux.stats() };
  }

  private resolveWaiters(): void {
    if (!this.mux) return;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.resolve();
    }
    this.waiters.clear();
  }

  private rejectWaiters(reason: string): void {
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new StreamRefusedError("PEER_NOT_CONNECTED", `${this.name} is not connected: ${reason}`));
    }
    this.waiters.clear();
  }

  /** One on-demand probe over the current path; null on timeout or when there is no path. */
  ping(): Promise<{ rttMs: number; endpoint: Endpoint; path: PathKind } | null> {
    const monitor = this.monitor;
    const path = this.path;
    if (path?.kind === "tcp" && this.tcp.active)
      return this.tcp
        .ping()
        .then((rttMs) => (rttMs === null ? null : { rttMs, endpoint: path.endpoint, path: "tcp" }));
    if (!monitor || !path || monitor.lost) return Promise.resolve(null);
    const { txid, actions } = monitor.probe(this.now());
    return new Promise((resolve) => {
      this.pingWaiters.set(txid, (r) =>
        resolve(r ? { rttMs: r.rttMs, endpoint: path.endpoint, path: path.kind } : null),
      );
      this.runMonitor(actions, this.now());
      this.o.io.rearm();
    });
  }

  // ── timers ────────────────────────────────────────────────────────────────────────────────

  nextTimer(): number | undefined {
    let t = Number.POSITIVE_INFINITY;
    const consider = (x: number | null | undefined) => {
      if (x !== undefined && x !== null && x < t) t = x;
    };
    consider(this.puncher?.nextTimer());
    if (this.monitor && !this.monitor.lost) consider(this.monitor.nextTimer());
    consider(this.linkCtl.nextTimer());
    consider(this.retryAt);
    consider(this.introductionDeadline);
    return t === Number.POSITIVE_INFINITY ? undefined : t;
  }

  tick(now: number): void {
    if (this.puncher) this.runPunch(this.puncher.tick(now), now);
    if (this.monitor && !this.monitor.lost) this.runMonitor(this.monitor.tick(now), now);
    this.runLink(this.linkCtl.tick(now));
    if (this.introductionDeadline !== undefined && now >= this.introductionDeadline) {
      this.introductionDeadline = undefined;
      this.fail("no introduction arrived (is the peer registered with the same introducer?)", now);
    }
    if (this.retryAt !== undefined && now >= this.retryAt && this.state !== "connected") {
      this.retryAt = undefined;
      this.maybeConnect(now);
    }
  }

  status(now: number): PeerStatus {
    return {
      name: this.name,
      state: this.state,
      path: this.state === "connected" ? (this.path?.kind ?? null) : null,
      endpoint: this.path ? formatEndpoint(this.path.endpoint) : null,
      rttMs: this.tcp.active ? this.tcp.rttMs : (this.monitor?.stats.srttMs ?? null),
      bytesIn: this.counters.bytesIn,
      bytesOut: this.counters.bytesOut,
      streams: this.mux?.stats().openStreams ?? 0,
      lastPacketAgoMs: this.lastPacketAt === null ? null : now - this.lastPacketAt,
      reason: this.reason,
    };
  }

  close(): void {
    this.rejectWaiters("the daemon is stopping");
    this.link?.close("daemon stopping");
    this.link = null;
    this.tcp.close("daemon stopping");
    this.linkCtl.reset();
  }
}
