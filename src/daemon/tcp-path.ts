/**
 * One peer's TCP path: the TcpLink (mux straight on the session payloads) over the connection the
 * TCP fallback adopted, and the bookkeeping that decides when a failed UDP punch is final.
 *
 * Why no reliable channel on TCP: the connection is already reliable and ordered, so the
 * ReliableChannel would only add a second sequence/ACK layer and retransmission timers that can
 * never help (a lost segment is TCP's business) and that stall the mux behind TCP's own recovery
 * (head-of-line blocking twice). The mux sees the session's payload stream as its byte channel and
 * gets backpressure from the socket's send buffer instead of a congestion window.
 *
 * A link lives exactly as long as its connection: a new connection (a re-punch) gets a new mux on
 * both sides, so no link-control messages are needed on this path.
 */
import type { IncomingStream, MuxSession } from "../tunnel/mux/index.js";
import type { Endpoint } from "../util/addr.js";
import type { Clock } from "../util/clock.js";
import type { PeerTcpIo, TcpCarrier } from "./tcp-fallback.js";
import { TcpLink } from "./tcp-link.js";

/** `p2ptun ping` over TCP waits this long for the mux PONG. */
export const TCP_PING_TIMEOUT_MS = 2_000;
const PING_POLL_MS = 5;

export interface TcpPathOptions {
  io: PeerTcpIo | undefined;
  /** The mux initiator (odd stream ids): the peer with the lower public key. */
  initiator: boolean;
  clock: Clock;
  onStream: (req: IncomingStream) => void;
  /** Counts payload bytes we send over the link (the peer's bytesOut). */
  countOut: (bytes: number) => void;
}

export class TcpPath {
  private link: TcpLink | null = null;
  private carrierId: unknown = null;
  private reason: string | null = null;
  private udpFailure: string | null = null;
  private tcpFailure: string | null = null;

  constructor(private readonly o: TcpPathOptions) {}

  /** True while the peer's streams run over a TCP connection. */
  get active(): boolean {
    return this.link !== null;
  }

  get mux(): MuxSession | undefined {
    return this.link?.mux;
  }

  /** The mux's smoothed RTT; null before the first PONG. */
  get rttMs(): number | null {
    const r = this.link?.mux.rttMs ?? 0;
    return r > 0 ? r : null;
  }

  /** Why the peer is on TCP, in words (the status reason while connected). */
  why(): string {
    return `over TCP: ${this.reason ?? "UDP did not get through"}`;
  }

  /**
   * The session is up over `endpoint`: false when that is not our TCP connection to the peer,
   * "same" when the link over it exists already (a rekey), "new" when a link was created.
   */
  enter(endpoint: Endpoint): false | "same" | "new" {
    const c = this.o.io?.carrier(endpoint);
    if (!c) return false;
    if (this.link && this.carrierId === c.id) return "same";
    this.link?.close("replaced by a new TCP connection");
    this.carrierId = c.id;
    this.reason = c.why;
    this.udpFailure = null;
    this.tcpFailure = null;
    this.link = new TcpLink({
      carrier: this.counting(c),
      initiator: this.o.initiator,
      clock: this.o.clock,
      onStream: this.o.onStream,
      // The mux ended (GO_AWAY, keepalive timeout): the connection is useless. Closing it reports
      // `closed` to the peer, which re-punches.
      onDead: (why) => this.o.io?.drop(`mux ended: ${why}`),
    });
    return "new";
  }

  private counting(c: TcpCarrier): TcpCarrier {
    const countOut = this.o.countOut;
    return {
      id: c.id,
      why: c.why,
      sendPayload: (payload) => {
        countOut(payload.length);
        c.sendPayload(payload);
      },
      get congested() {
        return c.congested;
      },
      onDrain: (fn) => c.onDrain(fn),
    };
  }

  /** Body of an `INNER.MUX` payload; dropped when no TCP link runs (counted by the mux if any). */
  input(bytes: Buffer): void {
    this.link?.input(bytes);
  }

  /** The UDP punch failed (`why`): true when the TCP fallback is still trying, so wait for it. */
  udpFailed(why: string): boolean {
    this.udpFailure = why;
    return this.o.io?.udpFailed() ?? false;
  }

  /** The TCP punch failed: true when nothing else is running, so the attempt has failed. */
  tcpFailed(reason: string, udpRunning: boolean): boolean {
    this.tcpFailure = reason;
    return !udpRunning;
  }

  /** The reason of a failed attempt: the UDP cause plus the TCP one when TCP was tried. */
  failureReason(udpWhy: string | null): string {
    const udp = udpWhy ?? this.udpFailure ?? "UDP did not get through";
    const r = this.tcpFailure ? `${udp}; ${this.tcpFailure}` : udp;
    this.udpFailure = null;
    this.tcpFailure = null;
    return r;
  }

  /** The adopted connection closed: true when that ended our link. */
  closed(reason: string): boolean {
    if (!this.link) return false;
    this.link.close(reason);
    this.link = null;
    this.carrierId = null;
    return true;
  }

  /**
   * One mux PING; resolves with the time until its PONG (seen as a change of the mux's smoothed
   * RTT, which only a PONG updates), null on timeout.
   */
  async ping(): Promise<number | null> {
    const link = this.link;
    if (!link) return null;
    const before = link.mux.rttMs;
    const sent = this.o.clock.now();
    link.mux.ping();
    while (this.o.clock.now() - sent < TCP_PING_TIMEOUT_MS) {
      await new Promise((r) => setTimeout(r, PING_POLL_MS));
      if (this.link !== link) return null;
      if (link.mux.rttMs !== before) return this.o.clock.now() - sent;
    }
    return null;
  }

  close(reason: string): void {
    this.closed(reason);
    this.o.io?.drop(reason);
  }
}
