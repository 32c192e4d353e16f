/**
 * The TCP fallback for every peer: runs the TCP punch next to the UDP one, keeps the resulting
 * connection, and hands it to the session when UDP does not get through.
 *
 * When to punch: on every introduction that carries the peer's `tcp` candidate, while we are
 * registered over TCP ourselves, at the introduction's start instant — the same instant for both
 * peers, which is what makes the SYNs cross. Punching only after the UDP attempt failed would cost
 * the whole UDP budget (9 s) before the first SYN, and a second introduction round trip.
 *
 * When to use it ("adopt"): at once when UDP cannot work — we have no UDP registration (our UDP
 * is blocked) or the peer has no `srflx` candidate (its UDP is blocked) — which both peers see
 * alike; otherwise only after the UDP punch failed. Until then the connection is held idle (and
 * dropped if UDP wins). After a failed UDP punch the next introduction adopts at once as well.
 * A session packet arriving over a held connection means the peer adopted it: the session
 * answers over it and the peer's path becomes `tcp` on our side too.
 *
 * Session packets for a peer whose endpoint is its TCP connection's remote address are written to
 * that connection (SessionPump route); packets read from it are fed to the session as if they had
 * arrived from that address, so the Noise session and its roaming rules are unchanged.
 */
import { punchTcp } from "../punch/tcp-puncher.js";
import { type Endpoint, formatEndpoint, sameEndpoint } from "../util/addr.js";
import type { Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import type { Candidate } from "../wire/candidate.js";
import type { SessionPump } from "./session-pump.js";
import type { TcpPortHolder } from "./tcp-introducer.js";
import type { TcpLinkCarrier } from "./tcp-link.js";
import { TcpTransport } from "./tcp-transport.js";

export interface TcpFallbackEvents {
  /** Use this connection now: start the session over it (`endpoint` is its remote address). */
  adopt(peerId: string, endpoint: Endpoint): void;
  /** The punch found no connection (only reported when UDP had failed, or adoption was due). */
  failed(peerId: string, reason: string): void;
  /** An adopted connection closed. */
  closed(peerId: string, endpoint: Endpoint, reason: string): void;
}

/** What one Peer sees of the TCP fallback (bound to its id by `forPeer`). */
export interface PeerTcpIo {
  /** The carrier of our TCP connection to the peer if `endpoint` is its remote address. */
  carrier(endpoint: Endpoint): TcpCarrier | undefined;
  /** The UDP punch failed: true when a TCP attempt is still running or connected (wait for it). */
  udpFailed(): boolean;
  /** The UDP punch found a path: a held TCP connection is not needed. */
  udpSucceeded(): void;
  /** Close the TCP connection (its mux died, or the peer is going away). */
  drop(reason: string): void;
}

/** An adopted connection as a TcpLink carrier, with its identity and why we are on TCP. */
export type TcpCarrier = TcpLinkCarrier & { id: TcpTransport; why: string };

interface PeerTcp {
  /** The peer's TCP endpoint this attempt punches to. */
  remote: Endpoint;
  abort: AbortController | null;
  transport: TcpTransport | null;
  /** Use the connection as soon as it exists. */
  wantAdopt: boolean;
  adopted: boolean;
  /** The punch ended without a connection (reported once UDP failed too). */
  failure: string | null;
  /** Why this peer uses (or would use) TCP, for `p2ptun status`. */
  why: string;
}

export class TcpFallback {
  readonly counters = { punches: 0, connected: 0, failed: 0, adopted: 0, attempts: 0 };
  /** Milliseconds from the start instant to the established connection, last 32 punches. */
  readonly connectTimes: number[] = [];
  private readonly peers = new Map<string, PeerTcp>();
  /**
   * Peers whose last UDP punch failed: the next introduction adopts TCP at once instead of
   * spending the UDP budget again (typically the first introduction came before one side's TCP
   * registration, so it had no `tcp` candidate). A UDP success clears it.
   */
  private readonly udpFailedBefore = new Set<string>();

  constructor(
    private readonly o: {
      port: TcpPortHolder;
      pump: SessionPump;
      clock: Clock;
      logger: Logger;
      events: TcpFallbackEvents;
    },
  ) {}

  /** True when we can punch at all (our TCP registration gave us a port). */
  get ready(): boolean {
    return this.o.port.port !== 0;
  }

  /** An introduction arrived: punch TCP from `startAt` if the peer offers a `tcp` candidate. */
  introduced(
    peerId: string,
    peerName: string,
    candidates: Candidate[],
    startAt: number,
    ourUdpRegistered: boolean,
  ): void {
    const remote = candidates.find((c) => c.kind === "tcp")?.endpoint;
    if (!remote || !this.ready) return;
    const peerHasUdp = candidates.some((c) => c.kind === "srflx");
    const udpFailedBefore = this.udpFailedBefore.has(peerId);
    const udpHopeless = !ourUdpRegistered || !peerHasUdp || udpFailedBefore;
    const why = !ourUdpRegistered
      ? "UDP is blocked here (the introducer answers only over TCP)"
      : !peerHasUdp
        ? `UDP is blocked at ${peerName} (it has no public UDP endpoint)`
        : udpFailedBefore
          ? "the UDP punch failed last time"
          : "the UDP punch failed";
    const old = this.peers.get(peerId);
    if (old?.adopted && old.transport && !old.transport.isClosed) return; // in use: keep it
    const running = old?.abort != null || (old?.transport != null && !old.transport.isClosed);
    if (old && running && old.failure === null && sameEndpoint(old.remote, remote)) {
      // A second introduction (crossing requests, or the one we ask for after starting) while this
      // punch runs or its connection is held: keep it. The peer may have adopted that connection
      // already, and a new punch from the same port would only be dropped by the peer's NAT.
      if (udpHopeless) {
        old.wantAdopt = true;
        old.why = why;
        this.adopt(peerId, old);
      }
      return;
    }
    this.drop(peerId);
    const st: PeerTcp = {
      remote,
      abort: new AbortController(),
      transport: null,
      wantAdopt: udpHopeless,
      adopted: false,
      failure: null,
      why,
    };
    this.peers.set(peerId, st);
    this.counters.punches++;
    const log = this.o.logger.child({ peer: peerName });
    log.info(
      { remote: formatEndpoint(remote), localPort: this.o.port.port, adoptAtOnce: udpHopeless },
      `peer ${peerName}: punching TCP`,
    );
    void punchTcp({
      remote,
      localPort: this.o.port.port,
      localAddress: this.o.port.localAddress,
      startAt,
      now: () => this.o.clock.now(),
      signal: st.abort!.signal,
    }).then((r) => {
      this.counters.attempts += r.attempts;
      if (this.peers.get(peerId) !== st) {
        if (r.ok) r.socket.destroy();
        return;
      }
      st.abort = null;
      if (!r.ok) {
        this.counters.failed++;
        log.info(
          { attempts: r.attempts, errors: r.errors },
          `peer ${peerName}: TCP punch failed: ${r.reason}`,
        );
        st.failure = `TCP punch failed: ${r.reason}`;
        if (st.wantAdopt) this.o.events.failed(peerId, st.failure);
        return;
      }
      this.counters.connected++;
      this.connectTimes.push(r.elapsedMs);
      if (this.connectTimes.length > 32) this.connectTimes.shift();
      const t = new TcpTransport(r.socket, (packet, from) => this.o.pump.handle(packet, from));
      st.transport = t;
      log.info(
        { remote: formatEndpoint(t.remote), attempts: r.attempts, ms: Math.round(r.elapsedMs) },
        `peer ${peerName}: TCP connection established (simultaneous open)`,
      );
      this.o.pump.route(peerId, (packet, to) => sameEndpoint(to, t.remote) && t.send(packet));
      t.onClose((reason) => {
        if (this.peers.get(peerId) === st) {
          this.peers.delete(peerId);
          this.o.pump.route(peerId, undefined);
        }
        log.info({ reason }, `peer ${peerName}: TCP connection closed`);
        if (st.adopted) this.o.events.closed(peerId, t.remote, reason);
      });
      if (st.wantAdopt) this.adopt(peerId, st);
    });
  }

  private adopt(peerId: string, st: PeerTcp): void {
    if (st.adopted || !st.transport) return;
    st.adopted = true;
    this.counters.adopted++;
    this.o.events.adopt(peerId, st.transport.remote);
  }

  /** The UDP punch found a path: a connection we did not use yet is not needed. */
  udpSucceeded(peerId: string): void {
    this.udpFailedBefore.delete(peerId);
    const st = this.peers.get(peerId);
    if (st && !st.adopted) this.drop(peerId);
  }

  /** The UDP punch failed: use the TCP connection. False when there is no TCP attempt to wait for. */
  udpFailed(peerId: string): boolean {
    this.udpFailedBefore.add(peerId);
    const st = this.peers.get(peerId);
    if (!st || st.failure !== null) return false;
    st.wantAdopt = true;
    if (st.transport) this.adopt(peerId, st);
    return true;
  }

  /**
   * The connection whose remote address is `endpoint`, as a carrier for a TcpLink; undefined when
   * `endpoint` is not a TCP path of this peer. Marks it adopted (the session runs over it).
   */
  carrier(peerId: string, endpoint: Endpoint): TcpCarrier | undefined {
    const st = this.peers.get(peerId);
    const t = st?.transport;
    if (!st || !t || t.isClosed || !sameEndpoint(t.remote, endpoint)) return undefined;
    st.adopted = true;
    st.wantAdopt = true;
    return {
      id: t,
      why: st.why,
      sendPayload: (payload) => this.o.pump.send(peerId, payload),
      get congested() {
        return t.congested;
      },
      onDrain: (fn) => t.socket.on("drain", fn),
    };
  }

  forPeer(peerId: string): PeerTcpIo {
    return {
      carrier: (endpoint) => this.carrier(peerId, endpoint),
      udpFailed: () => this.udpFailed(peerId),
      udpSucceeded: () => this.udpSucceeded(peerId),
      drop: (reason) => this.drop(peerId, reason),
    };
  }

  /** Closes the peer's TCP connection (its link died) and stops any punch. */
  drop(peerId: string, reason = "not needed"): void {
    const st = this.peers.get(peerId);
    if (!st) return;
    this.peers.delete(peerId);
    this.o.pump.route(peerId, undefined);
    st.abort?.abort();
    st.transport?.close(reason);
  }

  close(): void {
    for (const id of [...this.peers.keys()]) this.drop(id, "daemon stopping");
  }
}
