/**
 * The introducer's protocol core, sans I/O: fed packets (with their source) and timer ticks,
 * each with `now`, it returns packets to send. Sockets live in ./server.ts.
 *
 * Security stance: a packet must authenticate as a configured peer before anything is answered,
 * so an unauthenticated sender never gets a byte back (no amplification, no oracle); bad
 * packets are counted, never thrown. The rate limit runs before any cryptography.
 */
import { isIP } from "node:net";
import { publicKeyOf } from "../crypto/primitives.js";
import { NetcheckResponder } from "../netcheck/responder.js";
import { NetcheckPacketType } from "../netcheck/wire.js";
import { type Endpoint, formatEndpoint, normalizeIp } from "../util/addr.js";
import {
  INTRODUCER_PROTOCOL_VERSION,
  type IntroduceMsg,
  type IntroducerMessage,
  IntroducerPacketType,
  type IntroductionAckMsg,
  openIntroducerPacket,
  parseIntroducerPacket,
  type RefusalCode,
  type RegisterMsg,
  sealedCounter,
  sealIntroducerPacket,
} from "../wire/introducer.js";
import {
  INTRO_MAX_SENDS,
  INTRO_REGISTRATION_WAIT_MS,
  INTRO_RETRY_MS,
  INTRO_TARGET_MAX_SENDS,
  MAX_TRACKED_SOURCES,
  RATE_BUCKET_CAPACITY,
  RATE_REFILL_PER_SECOND,
  REFRESH_SECONDS,
  REGISTRATION_EXPIRY_MS,
} from "./constants.js";
import {
  ackOverdue,
  type PendingIntro,
  PendingIntroductions,
  requesterInTime,
  setStart,
  startInMsFor,
  startLeadMs,
  targetCopyViable,
} from "./introductions.js";
import { SourceRateLimiter } from "./rate-limit.js";
import { type PeerEntry, PeerRegistry, type Source, type Transport } from "./registry.js";

export type { Source, Transport };

export interface IntroducerAction {
  type: "send";
  to: Endpoint;
  transport: Transport;
  connId?: number;
  packet: Buffer;
}

/** What happened, for the operator's log; the core itself does no I/O. */
export type IntroducerEvent =
  /** `changed`: new on this transport, or from another endpoint than before. */
  | { type: "registered"; name: string; transport: Transport; observed: Endpoint; changed: boolean }
  | { type: "expired"; name: string }
  | { type: "refused"; name: string; code: RefusalCode; reason: string }
  | { type: "introduced"; requester: string; target: string };

export interface IntroducerCoreOptions {
  privateKey: Buffer;
  /** Who may register: a name and the public key that must go with it. */
  peers: { name: string; publicKey: Buffer }[];
  /** Wall-clock ms, only to seed StaticBox counters so a restarted introducer keeps counting up. */
  wallClockMs: number;
  /** Called synchronously for each event worth a log line. */
  onEvent?: (e: IntroducerEvent) => void;
}

export interface RegisteredPeerStats {
  name: string;
  publicKey: string;
  udp?: { observed: string; lastSeenMsAgo: number };
  tcp?: { observed: string; lastSeenMsAgo: number };
  lan: string[];
  rttMs?: number;
}

export interface IntroducerStats {
  registered: RegisteredPeerStats[];
  pendingIntroductions: number;
}

/** Daemon → introducer packet types; anything else arriving here is dropped unread. */
const FROM_DAEMON = new Set<number>([
  IntroducerPacketType.REGISTER,
  IntroducerPacketType.INTRODUCE,
  IntroducerPacketType.INTRODUCTION_ACK,
]);

const COUNTER_NAMES = [
  "received",
  "rateLimited",
  "malformed",
  "unauthenticated",
  "replayed",
  "registrations",
  "refused",
  "introductionsStarted",
  "introductionsCompleted",
  "introductionsDeclined",
  "introductionsMerged",
  /** Dropped for a new request of the same requester for the same target (it restarted). */
  "introductionsSuperseded",
  "introductionsUnreachable",
  "introductionRepeats",
  /** Sent again at once because its recipient registered from a new endpoint. */
  "introductionsRerouted",
  /** T moved later: the target was reached (or acknowledged) too late for the old one. */
  "introductionsRetimed",
  "staleAcks",
  /** The target acknowledged an earlier T than the latest sent to it (the ACK crossed a move). */
  "outdatedAcks",
  "expired",
  "sent",
] as const;
type CounterName = (typeof COUNTER_NAMES)[number];

export class IntroducerCore {
  readonly publicKey: Buffer;
  private readonly registry: PeerRegistry;
  private readonly limiter = new SourceRateLimiter(
    RATE_BUCKET_CAPACITY,
    RATE_REFILL_PER_SECOND,
    MAX_TRACKED_SOURCES,
  );
  private readonly pending: PendingIntroductions;
  /** Answers netcheck PROBEs (types 0x07/0x08, own box label); never touches registrations. */
  private readonly netcheck: NetcheckResponder;
  private readonly count = Object.fromEntries(COUNTER_NAMES.map((n) => [n, 0])) as Record<
    CounterName,
    number
  >;

  private readonly emit: (e: IntroducerEvent) => void;

  constructor(opts: IntroducerCoreOptions) {
    this.emit = opts.onEvent ?? (() => {});
    this.publicKey = publicKeyOf(opts.privateKey);
    this.registry = new PeerRegistry(opts.privateKey, this.publicKey, opts.peers, opts.wallClockMs);
    this.pending = new PendingIntroductions(Math.floor(opts.wallClockMs / 1000) * 1024);
    this.netcheck = new NetcheckResponder(opts.privateKey, this.publicKey, opts.peers, opts.wallClockMs);
  }

  handle(packet: Buffer, from: Source, now: number): IntroducerAction[] {
    this.count.received++;
    const ip = normalizeIp(from.endpoint.host);
    // Sockets always give an IP; anything else could not be encoded back as an endpoint.
    if (isIP(ip) === 0) return this.drop("malformed");
    if (!this.limiter.allow(ip, now)) return this.drop("rateLimited");
    if (packet[0] === NetcheckPacketType.PROBE) return this.answerProbe(packet, from);
    const header = parseIntroducerPacket(packet);
    if (header === null || !FROM_DAEMON.has(header.type)) return this.drop("malformed");
    const peer = this.registry.byPublicKey(header.senderKey);
    if (peer === undefined) return this.drop("unauthenticated");
    const counter = sealedCounter(header);
    if (!peer.replay.check(counter)) return this.drop("replayed");
    const opened = openIntroducerPacket(peer.box, header);
    if (!opened.ok && opened.why === "unauthenticated") return this.drop("unauthenticated");
    peer.replay.commit(counter); // authenticated: the box committed it too
    if (!opened.ok) return this.drop("malformed");
    return this.countSent(this.dispatch(peer, opened.msg, from, now));
  }

  /**
   * A packet on the alternate UDP port (listen port + 1): only netcheck PROBEs are answered
   * there, so a client can compare its NAT mapping towards two destinations. Rate-limited with
   * the same per-IP buckets as `handle`.
   */
  handleAlternate(packet: Buffer, from: Source, now: number): IntroducerAction[] {
    this.count.received++;
    const ip = normalizeIp(from.endpoint.host);
    if (isIP(ip) === 0) return this.drop("malformed");
    if (!this.limiter.allow(ip, now)) return this.drop("rateLimited");
    if (packet[0] !== NetcheckPacketType.PROBE) return this.drop("malformed");
    return this.answerProbe(packet, from);
  }

  private answerProbe(packet: Buffer, from: Source): IntroducerAction[] {
    const before = { ...this.netcheck.counters };
    const reply = this.netcheck.handle(packet, from.endpoint);
    if (reply === null) {
      // Counted with the introducer's own drops too, so every packet received is accounted for.
      const c = this.netcheck.counters;
      if (c.replayed > before.replayed) return this.drop("replayed");
      if (c.unauthenticated > before.unauthenticated) return this.drop("unauthenticated");
      return this.drop("malformed");
    }
    const action: IntroducerAction = {
      type: "send",
      to: from.endpoint,
      transport: from.transport,
      packet: reply,
    };
    if (from.connId !== undefined) action.connId = from.connId;
    return this.countSent([action]);
  }

  /** Repeats unacknowledged introductions and forgets silent peers. Call at `nextTimer()`. */
  tick(now: number): IntroducerAction[] {
    const out: IntroducerAction[] = [];
    for (const name of this.registry.expire(now, REGISTRATION_EXPIRY_MS)) {
      this.count.expired++;
      this.emit({ type: "expired", name });
    }
    this.limiter.prune(now);
    for (const p of this.pending.values()) {
      if (p.nextSendAt > now) continue;
      if (p.phase === "awaitRegistration") {
        // Registered but its RTT never reported: start anyway, timed with the default RTT.
        if (this.registry.isRegistered(p.target)) out.push(...this.startIntroduction(p, now));
        else
          out.push(
            ...this.refuseRequester(
              p,
              "PEER_NOT_REGISTERED",
              `${p.target.name} is not registered with this introducer`,
              now,
            ),
          );
        continue;
      }
      if (p.sends < (p.phase === "awaitTarget" ? INTRO_TARGET_MAX_SENDS : INTRO_MAX_SENDS)) {
        this.count.introductionRepeats++;
        out.push(...this.sendIntroduction(p, now));
        continue;
      }
      if (p.phase === "awaitTarget") out.push(...this.unreachable(p, now));
      // The requester had five copies and no ACK came back; a repeat of its INTRODUCE (its
      // client retries for ~15 s) gets the INTRODUCTION once more.
      else this.pending.finish(p, { kind: "unacked", intro: p }, now);
    }
    return this.countSent(out);
  }

  /** When `tick` next has work: an introduction repeat or a registration expiry. */
  nextTimer(): number | undefined {
    let next = this.registry.nextExpiry(REGISTRATION_EXPIRY_MS);
    for (const p of this.pending.values()) if (next === undefined || p.nextSendAt < next) next = p.nextSendAt;
    return next;
  }

  /** The adapter reports a closed TCP connection: a registration over it is unreachable now. */
  connectionClosed(connId: number): void {
    this.registry.connectionClosed(connId);
  }

  counters(): Record<string, number> {
    const probes = Object.fromEntries(
      Object.entries(this.netcheck.counters).map(([k, v]) => [
        `netcheck${k[0].toUpperCase()}${k.slice(1)}`,
        v,
      ]),
    );
    return {
      ...this.count,
      ...probes,
      pendingIntroductions: this.pending.size,
      trackedSources: this.limiter.size,
    };
  }

  stats(now: number): IntroducerStats {
    const registered: RegisteredPeerStats[] = [];
    for (const p of this.registry.all()) {
      if (!this.registry.isRegistered(p)) continue;
      const s: RegisteredPeerStats = {
        name: p.name,
        publicKey: p.publicKey.toString("base64"),
        lan: p.lan.map((c) => formatEndpoint(c.endpoint)),
      };
      if (p.rttMs !== undefined) s.rttMs = p.rttMs;
      if (p.udp) s.udp = { observed: formatEndpoint(p.udp.observed), lastSeenMsAgo: now - p.udp.lastSeen };
      if (p.tcp) s.tcp = { observed: formatEndpoint(p.tcp.observed), lastSeenMsAgo: now - p.tcp.lastSeen };
      registered.push(s);
    }
    return { registered, pendingIntroductions: this.pending.size };
  }

  // ---- messages ------------------------------------------------------------------------------

  private dispatch(peer: PeerEntry, msg: IntroducerMessage, from: Source, now: number): IntroducerAction[] {
    switch (msg.type) {
      case "register":
        return this.onRegister(peer, msg, from, now);
      case "introduce":
        return this.onIntroduce(peer, msg, from, now);
      case "introductionAck":
        return this.onAck(peer, msg, now);
      default:
        return []; // unreachable: FROM_DAEMON admits only the three types above
    }
  }

  private onRegister(peer: PeerEntry, msg: RegisterMsg, from: Source, now: number): IntroducerAction[] {
    if (msg.version !== undefined)
      return this.refuse(
        peer,
        from,
        msg.txid,
        "VERSION",
        `this introducer speaks introducer protocol ${INTRODUCER_PROTOCOL_VERSION}, this daemon ${msg.version}: ` +
          "run the same p2ptun release on both",
      );
    if (msg.name !== peer.name)
      return this.refuse(
        peer,
        from,
        msg.txid,
        "NAME_MISMATCH",
        `this key is configured as "${peer.name}" on this introducer, not "${msg.name}"`,
      );
    const changed = this.registry.record(peer, from, now);
    peer.lan = msg.lanCandidates;
    peer.tcpLocalPort = msg.tcpLocalPort;
    if (msg.rttMs !== undefined) peer.rttMs = msg.rttMs;
    this.count.registrations++;
    const observed = peer[from.transport]!.observed;
    this.emit({ type: "registered", name: peer.name, transport: from.transport, observed, changed });
    return [
      this.seal(peer, from, {
        type: "registered",
        txid: msg.txid,
        observed,
        refreshSeconds: REFRESH_SECONDS,
      }),
      ...(changed ? this.reroute(peer, from, now) : []),
      ...this.startWaiting(peer, now),
    ];
  }

  /**
   * `peer` registered: introductions that waited for it start now, with a full lead — once it has
   * reported its RTT (its client sends a second REGISTER with it right after the first answer),
   * so that its start instant is timed with its real delay rather than the default.
   */
  private startWaiting(peer: PeerEntry, now: number): IntroducerAction[] {
    if (peer.rttMs === undefined) return [];
    const out: IntroducerAction[] = [];
    for (const p of this.pending.values())
      if (p.phase === "awaitRegistration" && p.target === peer) out.push(...this.startIntroduction(p, now));
    return out;
  }

  private startIntroduction(p: PendingIntro, now: number): IntroducerAction[] {
    this.count.introductionsStarted++;
    p.phase = "awaitTarget";
    setStart(p, now);
    p.sends = 0;
    return this.sendIntroduction(p, now);
  }

  /**
   * `peer` registered from a new endpoint (it restarted behind a new port, or its NAT remapped
   * it): introductions in flight to it take the new route at once rather than at their next
   * repeat, with all their sends again (those to the old endpoint did not reach it).
   */
  private reroute(peer: PeerEntry, from: Source, now: number): IntroducerAction[] {
    const out: IntroducerAction[] = [];
    for (const p of this.pending.values()) {
      if (p.phase === "awaitTarget" && p.target === peer) {
        // Only if the new registration is the route used (UDP wins over TCP).
        if (this.registry.routeTo(peer)?.transport !== from.transport) continue;
      } else if (p.requester === peer && p.requesterRoute.transport === from.transport) {
        p.requesterRoute = from;
        if (p.phase !== "awaitRequester") continue;
      } else continue;
      this.count.introductionsRerouted++;
      p.sends = 0;
      // Nobody has acted on T yet (the requester hears only after the target's ACK, and the
      // target's copies went to its old endpoint): give the target a full lead, so that a lost
      // ACK is repaired by a repeat before it starts rather than by a repeat that moves T after.
      if (p.phase === "awaitTarget") setStart(p, now);
      out.push(...this.sendIntroduction(p, now));
    }
    return out;
  }

  private onIntroduce(peer: PeerEntry, msg: IntroduceMsg, from: Source, now: number): IntroducerAction[] {
    const no = (code: RefusalCode, reason: string) => this.refuse(peer, from, msg.txid, code, reason);
    const done = this.pending.outcomeOf(peer, msg.txid, now);
    if (done) {
      // A late repeat of a finished request: the same answer again, never a second introduction.
      if (done.kind === "refused") return no(done.code, done.reason);
      if (done.kind === "unacked") return this.sendIntroduction({ ...done.intro, requesterRoute: from }, now);
      return [];
    }
    if (!this.registry.isRegistered(peer))
      return no(
        "NOT_REGISTERED",
        `${peer.name} must register with this introducer before asking for introductions`,
      );
    const target = this.registry.named(msg.peerName);
    if (target === undefined)
      return no("PEER_UNKNOWN", `no peer named "${msg.peerName}" is configured on this introducer`);
    if (target === peer) return no("SELF", `${peer.name} asked to be introduced to itself`);

    const existing = this.pending.forPair(peer, target);
    if (existing?.requesterTxid === msg.txid) {
      // A retransmitted INTRODUCE: answer on its route; repeat the answer if B already agreed.
      existing.requesterRoute = from;
      return existing.phase === "awaitRequester" ? this.sendIntroduction(existing, now) : [];
    }
    if (existing) {
      // A new request for a pair in progress: the requester restarted (or gave up on its request
      // and asked again). Its client declines answers to a txid it no longer knows, and the
      // target must hear where the requester is now: start over with a new introduction.
      this.count.introductionsSuperseded++;
      this.pending.delete(existing);
    }
    if (this.pending.forPair(target, peer)) {
      // B asked for A while A asks for B: one introduction serves both. A already has (or will
      // get) an INTRODUCTION about B as its target, which its client takes as the answer.
      this.count.introductionsMerged++;
      return [];
    }
    if (!this.pending.hasRoomFor(peer))
      return no("BUSY", "too many introductions in progress; try again in a few seconds");
    if (!this.registry.isRegistered(target)) {
      // Not yet: it may be starting up. The introduction starts when it registers (startWaiting).
      this.pending.add({
        requester: peer,
        target,
        requesterTxid: msg.txid,
        requesterRoute: from,
        phase: "awaitRegistration",
        startAt: now,
        timing: 0,
        viableSentAt: now,
        sends: 0,
        nextSendAt: now + INTRO_REGISTRATION_WAIT_MS,
      });
      return [];
    }
    const p = this.pending.add({
      requester: peer,
      target,
      requesterTxid: msg.txid,
      requesterRoute: from,
      phase: "awaitTarget",
      startAt: now + startLeadMs(peer, target),
      timing: 0,
      viableSentAt: now,
      sends: 0,
      nextSendAt: now,
    });
    this.count.introductionsStarted++;
    return this.sendIntroduction(p, now);
  }

  private onAck(peer: PeerEntry, msg: IntroductionAckMsg, now: number): IntroducerAction[] {
    const p = this.pending.get(msg.introId);
    if (p?.phase === "awaitTarget" && peer === p.target) {
      if (!msg.accepted) {
        this.count.introductionsDeclined++;
        const reason = `${p.target.name} does not accept connections from ${p.requester.name}`;
        return this.refuseRequester(p, "NOT_ACCEPTED", reason, now);
      }
      // The target follows an earlier T than the latest we sent (see introductions.ts): wait for
      // the ACK of the latest, which a repeat brings.
      if (msg.timing !== p.timing) return this.drop("outdatedAcks");
      if (!requesterInTime(p, now)) {
        // Acknowledged too late for the requester to hear of it before T: a new T, told to the
        // target first (its client follows it), and the requester once that is acknowledged.
        this.count.introductionsRetimed++;
        setStart(p, now, true);
        return this.sendIntroduction(p, now);
      }
      p.phase = "awaitRequester";
      p.sends = 0;
      return this.sendIntroduction(p, now);
    }
    if (p?.phase === "awaitRequester" && peer === p.requester) {
      this.pending.finish(p, { kind: "acked" }, now);
      // A requester that refuses its own answer found a key other than the one it pinned.
      if (msg.accepted) {
        this.count.introductionsCompleted++;
        this.emit({ type: "introduced", requester: p.requester.name, target: p.target.name });
      } else this.count.introductionsDeclined++;
      return [];
    }
    this.count.staleAcks++; // a duplicate, or for an introduction already finished
    return [];
  }

  // ---- sending -------------------------------------------------------------------------------

  /** Sends (or repeats) the INTRODUCTION of the current phase, with a fresh `startInMs`. */
  private sendIntroduction(p: PendingIntro, now: number): IntroducerAction[] {
    const toTarget = p.phase === "awaitTarget";
    const route = toTarget ? this.registry.routeTo(p.target) : p.requesterRoute;
    if (route === undefined) return this.unreachable(p, now); // the target's registration expired
    // The target must ACK, and the requester hear back, before T. A T closer than that (the target
    // was unreachable so far) moves later, once no ACK that could still make it is on its way;
    // a target that acted on an earlier copy follows the new T (its client reports `retimed` and
    // the puncher probes from it) and says so in its ACK (see introductions.ts).
    if (toTarget) {
      if (!targetCopyViable(p, now) && ackOverdue(p, now)) {
        if (p.sends > 0) this.count.introductionsRetimed++;
        setStart(p, now, p.sends > 0);
      }
      if (targetCopyViable(p, now)) p.viableSentAt = now;
    }
    p.sends++;
    p.nextSendAt = now + INTRO_RETRY_MS;
    const recipient = toTarget ? p.target : p.requester;
    const about = toTarget ? p.requester : p.target;
    return [
      this.seal(recipient, route, {
        type: "introduction",
        txid: toTarget ? 0 : p.requesterTxid,
        introId: p.introId,
        peerName: about.name,
        peerPublicKey: about.publicKey,
        candidates: this.registry.candidatesOf(about),
        startInMs: startInMsFor(recipient, p.startAt, now),
        timing: p.timing,
      }),
    ];
  }

  private unreachable(p: PendingIntro, now: number): IntroducerAction[] {
    this.count.introductionsUnreachable++;
    const reason = `${p.target.name} did not answer the introduction`;
    return this.refuseRequester(p, "PEER_UNREACHABLE", reason, now);
  }

  /** Ends `p` with a refusal to its requester (remembered for repeats of its INTRODUCE). */
  private refuseRequester(
    p: PendingIntro,
    code: RefusalCode,
    reason: string,
    now: number,
  ): IntroducerAction[] {
    this.pending.finish(p, { kind: "refused", code, reason }, now);
    return this.refuse(p.requester, p.requesterRoute, p.requesterTxid, code, reason);
  }

  private refuse(
    peer: PeerEntry,
    to: Source,
    txid: number,
    code: RefusalCode,
    reason: string,
  ): IntroducerAction[] {
    this.count.refused++;
    this.emit({ type: "refused", name: peer.name, code, reason });
    return [this.seal(peer, to, { type: "refused", txid, code, reason })];
  }

  private seal(peer: PeerEntry, to: Source, msg: IntroducerMessage): IntroducerAction {
    const action: IntroducerAction = {
      type: "send",
      to: to.endpoint,
      transport: to.transport,
      packet: sealIntroducerPacket(peer.box, this.publicKey, msg),
    };
    if (to.connId !== undefined) action.connId = to.connId;
    return action;
  }

  private drop(why: CounterName): IntroducerAction[] {
    this.count[why]++;
    return [];
  }

  private countSent(out: IntroducerAction[]): IntroducerAction[] {
    this.count.sent += out.length;
    return out;
  }
}
