/**
 * ReliableChannel: a reliable, ordered byte stream over datagrams — a single-stream, minimal
 * QUIC (RFC 9000/9002) without handshake or encryption (the session below provides both).
 *
 * Sans-I/O: feed it datagrams with receive(packet, now) and bytes with write(data, now); take
 * datagrams to send with poll(now) until it returns null; take delivered bytes with read();
 * call poll again at nextTimeout(). It never reads a clock and never throws on network input.
 *
 * The pieces: AckTracker (what we owe the peer), LossRecovery (what the peer owes us),
 * CongestionController + Pacer (how fast), SendBuffer/RecvBuffer (the byte stream and flow
 * control), PmtuSearch (how big). This file only composes them and builds packets.
 */
import { AckTracker } from "./ack-tracker.js";
import { CongestionController, initialWindow } from "./congestion.js";
import {
  ABSOLUTE_MAX_DATAGRAM_SIZE,
  BASE_DATAGRAM_SIZE,
  DEFAULT_DEAD_PEER_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_KEEPALIVE_MS,
  DEFAULT_MAX_DATAGRAM_SIZE,
  DEFAULT_MAX_PTO_COUNT,
  DEFAULT_RECV_WINDOW_BYTES,
  DEFAULT_SEND_BUFFER_BYTES,
  INITIAL_MAX_DATA,
  MAX_ACK_DELAY_MS,
  MAX_CLOSE_REPEATS,
  MIN_PAYLOAD_BYTES,
  PERSISTENT_CONGESTION_THRESHOLD,
  PMTU_BLACK_HOLE_PTOS,
} from "./constants.js";
import { ReliableOptionsError } from "./errors.js";
import { Pacer } from "./pacer.js";
import { type AckFrame, decodePacket, encodeCloseReason } from "./packet.js";
import {
  buildPacket,
  controlSize,
  emptyPlan,
  PacketArena,
  type PacketPlan,
  streamHeaderBound,
} from "./packet-builder.js";
import { PmtuSearch } from "./pmtu.js";
import { LossRecovery, type SentPacket } from "./recovery.js";
import { RecvBuffer } from "./recv-buffer.js";
import { RttEstimator } from "./rtt.js";
import { SendBuffer } from "./send-buffer.js";
import type { ChannelState, ChannelStats, DeadReason, ReliableChannelOptions } from "./types.js";

/** PTO probes sent per expiry (RFC 9002 §6.2.4 allows one or two). */
const PROBES_PER_PTO = 2;

export class ReliableChannel {
  state: ChannelState = "open";
  /** Reason given to close() here, or received in the peer's CLOSE. */
  closeReason: string | undefined;
  /** True when the peer closed (its CLOSE arrived). */
  closedByPeer = false;
  deadReason: DeadReason | undefined;

  private readonly overhead: number;
  private readonly sendLimit: number;
  private readonly keepaliveMs: number;
  private readonly idleTimeoutMs: number;
  private readonly deadPeerTimeoutMs: number;
  private readonly maxPtoCount: number;
  private readonly baseDatagramSize: number;

  private readonly rtt: RttEstimator;
  private readonly cc: CongestionController;
  private readonly pacer: Pacer;
  private readonly recovery: LossRecovery;
  private readonly acks: AckTracker;
  private readonly sendBuf = new SendBuffer();
  private readonly recvBuf: RecvBuffer;
  private readonly pmtu: PmtuSearch;
  private readonly arena: PacketArena;

  /** Flow-control limit the peer gave us (we may send stream bytes below it). */
  private peerMaxData = INITIAL_MAX_DATA;
  /** Largest MAX_DATA of ours the peer acknowledged, and when we last sent one. */
  private maxDataAcked = INITIAL_MAX_DATA;
  private lastMaxDataSent = Number.NEGATIVE_INFINITY;
  private lastNow: number;
  private lastReceived: number;
  /** Last ack-eliciting packet sent or received (keepalive runs only when this is old). */
  private lastEliciting: number;
  /** Last time the peer acknowledged something new (or data started to be outstanding). */
  private lastProgress: number;
  private keepalivePending = false;
  private probesPending = 0;
  /** Were we last stopped by the congestion window (true) or by lack of data (false)? */
  private cwndLimited = false;
  private closeFrame: Buffer | undefined;
  /** close() was called and written data is still being delivered. */
  private flushing = false;
  private closeSendPending = false;
  private closeRepeats = 0;
  private closingDeadline = Number.POSITIVE_INFINITY;

  private packetsSent = 0;
  private packetsReceived = 0;
  private packetsLost = 0;
  private packetsMalformed = 0;
  private probeTimeouts = 0;
  private retransmittedBytes = 0;
  private bytesSent = 0;

  constructor(opts: ReliableChannelOptions) {
    validateOptions(opts);
    this.overhead = opts.overhead ?? 0;
    const maxDatagram = opts.maxDatagramSize ?? DEFAULT_MAX_DATAGRAM_SIZE;
    const base = Math.min(opts.baseDatagramSize ?? BASE_DATAGRAM_SIZE, maxDatagram);
    this.sendLimit = opts.sendBufferBytes ?? DEFAULT_SEND_BUFFER_BYTES;
    this.keepaliveMs = opts.keepaliveMs ?? DEFAULT_KEEPALIVE_MS;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.deadPeerTimeoutMs = opts.deadPeerTimeoutMs ?? DEFAULT_DEAD_PEER_TIMEOUT_MS;
    this.maxPtoCount = opts.maxPtoCount ?? DEFAULT_MAX_PTO_COUNT;
    const maxAckDelay = opts.maxAckDelayMs ?? MAX_ACK_DELAY_MS;
    this.rtt = new RttEstimator(maxAckDelay);
    this.cc = new CongestionController(base);
    this.pacer = new Pacer(initialWindow(base));
    this.recovery = new LossRecovery(this.rtt);
    this.acks = new AckTracker(maxAckDelay);
    this.recvBuf = new RecvBuffer(opts.recvWindowBytes ?? DEFAULT_RECV_WINDOW_BYTES);
    this.pmtu = new PmtuSearch(base, maxDatagram);
    this.baseDatagramSize = base;
    this.arena = new PacketArena(opts.headroom ?? 0, opts.reusePacketBuffer ?? false);
    this.lastNow = this.lastReceived = this.lastEliciting = this.lastProgress = opts.now;
  }

  // ---- application side ---------------------------------------------------------------

  /**
   * Queues bytes for sending; the channel keeps (does not copy) `data`, so the caller must not
   * modify it afterwards. Always accepts while open; returns false when the send buffer is over
   * its limit (wait for `writable`). Returns false and drops the data when not open.
   */
  write(data: Buffer, now: number): boolean {
    this.lastNow = now;
    if (this.state !== "open") return false;
    this.sendBuf.write(data);
    return this.sendBuf.buffered < this.sendLimit;
  }

  get writable(): boolean {
    return this.state === "open" && this.sendBuf.buffered < this.sendLimit;
  }

  /** Next chunk of in-order bytes, or null. */
  read(): Buffer | null {
    return this.recvBuf.read();
  }

  /**
   * Closes the channel: no more writes; what was already written is delivered first (state
   * `closing` while it drains; a peer that stops answering makes it `dead` as usual), unless
   * `discard` is set. Then sends CLOSE with `reason`, answers further packets with CLOSE a few
   * times, and is `closed` when the peer's answering CLOSE arrives or after three PTOs.
   */
  close(reason = "", opts: { discard?: boolean } = {}): void {
    if (this.state !== "open") return;
    this.state = "closing";
    this.closeReason = reason;
    if (!opts.discard && this.sendBuf.buffered > 0) this.flushing = true;
    else this.startClosing();
  }

  /** Open, or closing but still delivering what was written: the full protocol runs. */
  private get active(): boolean {
    return this.state === "open" || this.flushing;
  }

  /** Everything written is delivered (or discarded): send CLOSE and wait for the answer. */
  private startClosing(): void {
    this.flushing = false;
    this.closeFrame = encodeCloseReason(this.closeReason ?? "");
    this.closeSendPending = true;
    this.closingDeadline = this.lastNow + 3 * this.rtt.pto();
    this.discardSending();
  }

  /** Bytes written and not yet acknowledged by the peer. */
  get bufferedAmount(): number {
    return this.sendBuf.buffered;
  }

  // ---- network side -------------------------------------------------------------------

  /** Handles one datagram from the peer. Malformed input is dropped and counted. */
  receive(packet: Buffer, now: number): void {
    this.lastNow = now;
    if (this.state === "closed" || this.state === "dead") return;
    const p = decodePacket(packet);
    if (p === null) {
      this.packetsMalformed++;
      return;
    }
    this.packetsReceived++;
    this.lastReceived = now;
    if (this.state === "closing" && !this.flushing) {
      if (p.close !== null) this.state = "closed";
      else if (this.closeRepeats < MAX_CLOSE_REPEATS) this.closeSendPending = true;
      return;
    }
    this.acks.onPacket(p.pn, p.ackEliciting, now);
    if (p.ackEliciting) this.lastEliciting = now;
    if (p.ack !== null) this.onAckFrame(p.ack, now);
    const streams = p.streams;
    if (streams.length > 0) {
      const rb = this.recvBuf;
      for (let i = 0; i < streams.length; i++) rb.onStream(streams[i].offset, streams[i].data);
      // The peer is sending but has not acknowledged our latest credit: repeat it (at most once
      // per RTT), so a lost MAX_DATA never leaves it blocked until a probe timeout.
      const interval = this.rtt.hasSample ? this.rtt.smoothed : 0;
      if (rb.maxData > this.maxDataAcked && now - this.lastMaxDataSent >= interval) {
        rb.maxDataPending = true;
      }
    }
    if (p.maxData > this.peerMaxData) this.peerMaxData = p.maxData;
    if (p.close !== null) {
      // Closed by the peer: answer with one CLOSE of our own so it can stop waiting at once.
      this.state = "closed";
      this.closeReason = p.close;
      this.closedByPeer = true;
      this.closeFrame = encodeCloseReason(p.close);
      this.closeSendPending = true;
      this.flushing = false;
      this.discardSending();
      return;
    }
    if (this.flushing && this.sendBuf.buffered === 0) this.startClosing();
  }

  /** The next datagram to send at `now`, or null. Call until null, then again at nextTimeout(). */
  poll(now: number): Buffer | null {
    this.lastNow = now;
    if (!this.active) return this.state === "dead" ? null : this.pollClosing(now);
    this.onTimers(now);
    if (!this.active) return null;

    const probe = this.probesPending > 0;
    const ccOpen = probe || this.cc.bytesInFlight < this.cc.cwnd;
    const newData = this.sendableNew();
    const hasData = newData > 0 || !this.sendBuf.lost.isEmpty;
    if (ccOpen && (probe || this.pacer.canSend(now))) {
      const probeSize = this.rtt.hasSample && !probe ? this.pmtu.probeSize(now) : 0;
      if (probeSize > 0) return this.sendPmtuProbe(probeSize, now);
      if (probe || hasData || this.keepalivePending || this.recvBuf.maxDataPending) {
        return this.sendPacket(now, newData, true);
      }
      this.cwndLimited = false;
    } else if (hasData && !ccOpen) {
      this.cwndLimited = true;
    }
    // Flow-control credit must not wait behind our own congestion window.
    if (this.recvBuf.maxDataPending) return this.sendPacket(now, 0, false);
    if (this.acks.due(now)) return this.sendAckOnly(now);
    return null;
  }

  /** Absolute time poll() should next be called, or undefined when nothing is scheduled. */
  nextTimeout(): number | undefined {
    const now = this.lastNow;
    if (this.state === "dead") return undefined;
    if (this.state === "closed") return this.closeSendPending ? now : undefined;
    if (this.state === "closing" && !this.flushing) {
      return this.closeSendPending ? now : this.closingDeadline;
    }
    let t = Number.POSITIVE_INFINITY;
    if (this.acks.pending) t = this.acks.ackNow ? now : this.acks.ackDeadline;
    if (this.recvBuf.maxDataPending) t = now;
    const recovery = this.recovery;
    t = Math.min(t, recovery.lossTime, recovery.ptoDeadline());
    if (this.keepaliveMs > 0) t = Math.min(t, this.lastEliciting + this.keepaliveMs);
    if (this.idleTimeoutMs > 0) t = Math.min(t, this.lastReceived + this.idleTimeoutMs);
    if (this.deadPeerTimeoutMs > 0 && recovery.ackElicitingInFlight > 0) {
      t = Math.min(t, this.lastProgress + this.deadPeerTimeoutMs);
    }
    if (this.probesPending > 0) return now;
    if (this.cc.bytesInFlight < this.cc.cwnd) {
      const wantsToSend =
        this.keepalivePending ||
        this.sendableNew() > 0 ||
        !this.sendBuf.lost.isEmpty ||
        (this.rtt.hasSample && this.pmtu.probeSize(now) > 0);
      if (wantsToSend) t = Math.min(t, this.pacer.nextSendTime(now));
    }
    return t === Number.POSITIVE_INFINITY ? undefined : t;
  }

  stats(): ChannelStats {
    const rtt = this.rtt;
    return {
      state: this.state,
      srttMs: rtt.smoothed,
      minRttMs: rtt.hasSample ? rtt.min : 0,
      rttVarMs: rtt.variance,
      cwnd: this.cc.cwnd,
      ssthresh: this.cc.ssthresh,
      bytesInFlight: this.cc.bytesInFlight,
      datagramSize: this.pmtu.current,
      packetsSent: this.packetsSent,
      packetsReceived: this.packetsReceived,
      packetsLost: this.packetsLost,
      packetsMalformed: this.packetsMalformed,
      duplicatePackets: this.acks.duplicates,
      ptoCount: this.recovery.ptoCount,
      probeTimeouts: this.probeTimeouts,
      congestionEvents: this.cc.congestionEvents,
      hystartExits: this.cc.hystartExits,
      ignoredLossEvents: this.cc.ignoredLossEvents,
      lossRate: this.cc.lossRate,
      retransmittedBytes: this.retransmittedBytes,
      bytesSent: this.bytesSent,
      bytesDelivered: this.recvBuf.deliveredOffset,
      bytesRead: this.recvBuf.readOffset,
      sendBuffered: this.sendBuf.buffered,
      recvBuffered: this.recvBuf.bufferedBytes,
      peerMaxData: this.peerMaxData,
      pmtuProbesSent: this.pmtu.probesSent,
      pmtuProbesLost: this.pmtu.probesLost,
      pmtuBlackHoles: this.pmtu.blackHoles,
      persistentCongestion: this.cc.persistentCongestionEvents,
      spuriousLosses: this.recovery.spuriousLosses,
      undoneReductions: this.cc.undoneReductions,
      packetThreshold: this.recovery.packetThreshold,
      timeThreshold: this.recovery.timeThreshold,
    };
  }

  // ---- timers ---------------------------------------------------------------------------

  /** Runs every timer that is due at `now`; each reaction is a named hook below. */
  private onTimers(now: number): void {
    if (this.idleTimeoutMs > 0 && now >= this.lastReceived + this.idleTimeoutMs) {
      this.die("idle_timeout");
      return;
    }
    const recovery = this.recovery;
    if (
      this.deadPeerTimeoutMs > 0 &&
      recovery.ackElicitingInFlight > 0 &&
      now >= this.lastProgress + this.deadPeerTimeoutMs
    ) {
      this.die("peer_unresponsive");
      return;
    }
    if (now >= recovery.lossTime) this.onLossTimer(now);
    else if (now >= recovery.ptoDeadline()) this.onProbeTimeout();
    if (!this.active) return;
    if (this.keepaliveMs > 0 && now >= this.lastEliciting + this.keepaliveMs) this.keepalivePending = true;
  }

  /**
   * The path under the channel changed and was just proven (re-punched, or the peer roamed): the
   * probe backoff earned on the dead path would only delay the first retransmission on the new
   * one (by up to MAX_PTO_PERIOD_MS), so it starts over.
   */
  pathChanged(): void {
    this.recovery.ptoCount = 0;
  }

  /** Fires when an outstanding packet crosses the time threshold (9/8 RTT): it is lost. */
  private onLossTimer(now: number): void {
    this.recovery.onLossTimeout(now);
    this.onLost(this.recovery.lost, now, NONE_ACKED);
  }

  /**
   * Fires when nothing was acknowledged for a PTO (backed off 2^n): sends up to two probes,
   * preferably new data, else the oldest outstanding data, else PING. Too many in a row: dead.
   */
  private onProbeTimeout(): void {
    const recovery = this.recovery;
    recovery.ptoCount++;
    this.probeTimeouts++;
    if (recovery.ptoCount >= this.maxPtoCount) {
      this.die("peer_unresponsive");
      return;
    }
    this.probesPending = PROBES_PER_PTO;
    if (recovery.ptoCount === PMTU_BLACK_HOLE_PTOS && this.pmtu.current > this.baseDatagramSize) {
      // Maybe the path now drops our big datagrams: probe and retransmit at the safe size.
      this.pmtu.onBlackHole(this.baseDatagramSize);
      this.cc.setDatagramSize(this.baseDatagramSize);
    }
    if (this.sendableNew() === 0 && this.sendBuf.lost.isEmpty) {
      const oldest = recovery.oldestWithStream();
      if (oldest !== undefined) this.sendBuf.onLost(oldest.streamOffset, oldest.streamLen);
    }
    // Repeat our credit in the probe: if the lost packet carried MAX_DATA, a peer blocked on
    // flow control has nothing in flight and no timer of its own to recover with.
    this.recvBuf.maxDataPending = true;
  }

  private die(reason: DeadReason): void {
    this.state = "dead";
    this.flushing = false;
    this.deadReason = reason;
    this.discardSending();
  }

  // ---- acknowledgements and loss ----------------------------------------------------------

  private onAckFrame(ack: AckFrame, now: number): void {
    const recovery = this.recovery;
    const samples = this.rtt.samples;
    if (!recovery.onAck(ack, now)) {
      this.packetsMalformed++;
      return;
    }
    if (this.rtt.samples !== samples) {
      this.cc.onRttSample(this.rtt.latestAdjusted, recovery.largestAcked, recovery.nextPn);
    }
    const acked = recovery.acked;
    if (acked.length > 0) {
      this.lastProgress = now;
      let ackOfAck = -1;
      for (let i = 0; i < acked.length; i++) {
        const p = acked[i];
        if (p.probeSize === 0) this.cc.onAcked(p.size, p.timeSent, this.cwndLimited);
        if (p.streamLen > 0) this.sendBuf.onAcked(p.streamOffset, p.streamLen);
        if (p.probeSize > 0) this.onPmtuProbeAcked(p.probeSize, now);
        if (p.largestAckSent > ackOfAck) ackOfAck = p.largestAckSent;
        if (p.maxData > this.maxDataAcked) this.maxDataAcked = p.maxData;
      }
      if (ackOfAck >= 0) this.acks.onAckAcked(ackOfAck);
    }
    if (recovery.spurious.length > 0) this.cc.onSpuriousLoss(recovery.spurious);
    if (recovery.lost.length > 0) this.onLost(recovery.lost, now, acked);
    this.pacer.configure(this.cc.cwnd, this.rtt.smoothed, this.cc.inSlowStart, this.pmtu.current);
  }

  private onLost(lost: readonly SentPacket[], now: number, acked: readonly SentPacket[]): void {
    let newestLostSent = Number.NEGATIVE_INFINITY;
    let oldestLostSent = Number.POSITIVE_INFINITY;
    let lowPn = Number.POSITIVE_INFINITY;
    let highPn = -1;
    let count = 0;
    for (let i = 0; i < lost.length; i++) {
      const p = lost[i];
      if (p.probeSize > 0) {
        // A lost PMTU probe says the size is too big, not that the path is congested.
        this.pmtu.onProbeLost(p.probeSize, now);
        continue;
      }
      this.cc.onLost(p.size);
      this.packetsLost++;
      if (p.streamLen > 0) this.sendBuf.onLost(p.streamOffset, p.streamLen);
      if (p.maxData >= 0 && p.maxData === this.recvBuf.maxData) this.recvBuf.maxDataPending = true;
      if (p.timeSent > newestLostSent) newestLostSent = p.timeSent;
      if (p.timeSent < oldestLostSent) oldestLostSent = p.timeSent;
      if (p.pn < lowPn) lowPn = p.pn;
      if (p.pn > highPn) highPn = p.pn;
      count++;
    }
    if (newestLostSent === Number.NEGATIVE_INFINITY) return;
    if (this.isPersistentCongestion(oldestLostSent, newestLostSent, acked)) {
      this.cc.onPersistentCongestion(now);
    } else {
      this.cc.onLossEvent(newestLostSent, now, this.rtt, lowPn, highPn, count);
    }
  }

  /**
   * RFC 9002 §7.6, simplified: everything sent over more than three PTOs (without backoff) was
   * lost and nothing sent in between was acknowledged by this ACK — the path went dark.
   */
  private isPersistentCongestion(oldest: number, newest: number, acked: readonly SentPacket[]): boolean {
    const rtt = this.rtt;
    if (!rtt.hasSample) return false;
    if (newest - oldest <= rtt.pto() * PERSISTENT_CONGESTION_THRESHOLD) return false;
    for (let i = 0; i < acked.length; i++) {
      const t = acked[i].timeSent;
      if (t > oldest && t < newest) return false;
    }
    return true;
  }

  private onPmtuProbeAcked(size: number, now: number): void {
    this.pmtu.onProbeAcked(size, now);
    this.cc.setDatagramSize(this.pmtu.current);
  }

  // ---- packet building --------------------------------------------------------------------

  /** Never-sent bytes we may send now (flow control permitting). */
  private sendableNew(): number {
    const sb = this.sendBuf;
    return Math.min(sb.writeOffset, this.peerMaxData) - sb.sendOffset;
  }

  /**
   * The ACK to put in a packet being built: whenever an ack-eliciting packet arrived since the
   * last one, even if the delayed-ACK timer has not run out (piggybacking is nearly free). ACK-only
   * packets from the peer are not acknowledged: nobody waits for that.
   */
  private planAck(plan: PacketPlan, now: number): void {
    const acks = this.acks;
    if (acks.pending && acks.received.r.length > 0) {
      plan.ackRanges = acks.received.r;
      plan.ackDelayUs = acks.delayUs(now);
    }
  }

  /**
   * An ack-eliciting packet: ACK (if owed), MAX_DATA (if pending), then retransmitted or new
   * stream data filling the rest; PING when nothing else elicits an ACK. `withData` false sends
   * control frames only.
   */
  private sendPacket(now: number, newData: number, withData: boolean): Buffer {
    const plan = emptyPlan(this.recovery.nextPn);
    this.planAck(plan, now);
    if (this.recvBuf.maxDataPending) plan.maxData = this.recvBuf.maxData;
    const sb = this.sendBuf;
    let isRetransmit = false;
    if (withData) {
      const maxPayload = this.pmtu.current - this.overhead;
      const room = maxPayload - controlSize(plan) - streamHeaderBound(sb.writeOffset);
      if (room > 0) {
        plan.streamLen = sb.takeRetransmit(room);
        if (plan.streamLen > 0) {
          plan.streamOffset = sb.takenOffset;
          isRetransmit = true;
        } else if (newData > 0) {
          plan.streamLen = Math.min(room, newData);
          plan.streamOffset = sb.takeNew(plan.streamLen);
        }
      }
    }
    plan.ping = plan.streamLen === 0 && plan.maxData < 0;
    const buf = buildPacket(plan, sb, this.arena);
    if (isRetransmit) this.retransmittedBytes += plan.streamLen;
    if (plan.ackRanges !== null) this.acks.onAckSent();
    if (plan.maxData >= 0) this.lastMaxDataSent = now;
    this.recvBuf.maxDataPending = false;
    this.keepalivePending = false;
    if (this.probesPending > 0) this.probesPending--;
    this.onSent(sentRecord(plan, now, this.wireSize(buf), 0, this.acks.largest), now);
    return buf;
  }

  /** A PMTU probe: PING + PADDING to exactly `datagramSize` on the wire, plus ACK if owed. */
  private sendPmtuProbe(datagramSize: number, now: number): Buffer {
    const plan = emptyPlan(this.recovery.nextPn);
    this.planAck(plan, now);
    plan.ping = true;
    plan.padTo = datagramSize - this.overhead;
    const buf = buildPacket(plan, this.sendBuf, this.arena);
    if (plan.ackRanges !== null) this.acks.onAckSent();
    this.pmtu.onProbeSent(datagramSize);
    this.onSent(sentRecord(plan, now, datagramSize, datagramSize, this.acks.largest), now);
    return buf;
  }

  /** A packet with only an ACK frame: not ack-eliciting, not congestion controlled, not recorded. */
  private sendAckOnly(now: number): Buffer {
    const plan = emptyPlan(this.recovery.nextPn++);
    this.planAck(plan, now);
    const buf = buildPacket(plan, this.sendBuf, this.arena);
    this.acks.onAckSent();
    this.packetsSent++;
    this.bytesSent += this.wireSize(buf);
    return buf;
  }

  /** Closing: (re)send our CLOSE when asked to; closed after the deadline. Closed: send the echo. */
  private pollClosing(now: number): Buffer | null {
    if (this.state === "closing" && now >= this.closingDeadline) {
      this.state = "closed";
      return null;
    }
    if (!this.closeSendPending || this.closeFrame === undefined) return null;
    this.closeSendPending = false;
    this.closeRepeats++;
    const plan = emptyPlan(this.recovery.nextPn++);
    plan.close = this.closeFrame;
    this.packetsSent++;
    return buildPacket(plan, this.sendBuf, this.arena);
  }

  /**
   * Records an ack-eliciting packet. PMTU probes are tracked for loss detection but not counted
   * against the congestion window: a 65000-byte probe must not block a 15 KB window until it is
   * declared lost (at most one probe is out at a time, so the extra load is bounded).
   */
  private onSent(p: SentPacket, now: number): void {
    const recovery = this.recovery;
    if (recovery.ackElicitingInFlight === 0) this.lastProgress = now;
    recovery.nextPn++;
    recovery.onSent(p);
    if (p.probeSize === 0) this.cc.onSent(p.size);
    this.pacer.onSent(p.size);
    this.lastEliciting = now;
    this.packetsSent++;
    this.bytesSent += p.size;
  }

  /** Bytes a packet built here takes on the wire (its headroom is part of the overhead). */
  private wireSize(buf: Buffer): number {
    return buf.length - this.arena.headroom + this.overhead;
  }

  private discardSending(): void {
    this.sendBuf.discard();
    this.recovery.clear();
    this.cc.bytesInFlight = 0;
    this.probesPending = 0;
    this.keepalivePending = false;
  }
}

const NONE_ACKED: readonly SentPacket[] = [];

/** Throws ReliableOptionsError for options no channel can work with. */
function validateOptions(opts: ReliableChannelOptions): void {
  const overhead = opts.overhead ?? 0;
  const max = opts.maxDatagramSize ?? DEFAULT_MAX_DATAGRAM_SIZE;
  const base = Math.min(opts.baseDatagramSize ?? BASE_DATAGRAM_SIZE, max);
  if (!Number.isInteger(overhead) || overhead < 0) {
    throw new ReliableOptionsError(`overhead must be a non-negative integer, got ${overhead}`);
  }
  const headroom = opts.headroom ?? 0;
  if (!Number.isInteger(headroom) || headroom < 0 || headroom > overhead) {
    throw new ReliableOptionsError(`headroom must be an integer in [0, overhead], got ${headroom}`);
  }
  if (!Number.isInteger(max) || max > ABSOLUTE_MAX_DATAGRAM_SIZE) {
    throw new ReliableOptionsError(
      `maxDatagramSize must be an integer ≤ ${ABSOLUTE_MAX_DATAGRAM_SIZE}, got ${max}`,
    );
  }
  if (!Number.isInteger(base) || base - overhead < MIN_PAYLOAD_BYTES) {
    throw new ReliableOptionsError(
      `datagram size ${base} leaves less than ${MIN_PAYLOAD_BYTES} bytes after overhead ${overhead}`,
    );
  }
  for (const key of ["sendBufferBytes", "recvWindowBytes"] as const) {
    const v = opts[key];
    if (v !== undefined && !(v > 0)) throw new ReliableOptionsError(`${key} must be positive, got ${v}`);
  }
}

/** What loss recovery remembers about an ack-eliciting packet built from `plan`. */
function sentRecord(
  plan: PacketPlan,
  now: number,
  wireSize: number,
  probeSize: number,
  largestReceived: number,
): SentPacket {
  return {
    pn: plan.pn,
    timeSent: now,
    size: wireSize,
    ackEliciting: true,
    streamOffset: plan.streamOffset,
    streamLen: plan.streamLen,
    maxData: plan.maxData,
    probeSize,
    largestAckSent: plan.ackRanges !== null ? largestReceived : -1,
  };
}
