/**
 * The daemon's side of the introducer protocol for one introducer, sans I/O: fed packets from
 * that introducer's address and timer ticks (each with `now`), it returns packets to send and
 * events for the daemon. The daemon sends the packets to the introducer's endpoint on the socket
 * this client rides on (its UDP socket, or a TCP connection framed as `[len u16][packet]`).
 *
 * A UDP and a TCP client for the same introducer must share one StaticBox (`box` option):
 * two boxes with the same keys would reuse AEAD nonces.
 */
import { StaticBox } from "../crypto/box.js";
import { publicKeyOf } from "../crypto/primitives.js";
import { ReplayWindow } from "../crypto/replay.js";
import { type Endpoint, sameEndpoint } from "../util/addr.js";
import { P2pError } from "../util/errors.js";
import type { Candidate } from "../wire/candidate.js";
import {
  type IntroducerMessage,
  IntroducerPacketType,
  type IntroductionMsg,
  MAX_LAN_CANDIDATES,
  MAX_NAME_BYTES,
  openIntroducerPacket,
  parseIntroducerPacket,
  type RefusalCode,
  type RefusedMsg,
  type RegisteredMsg,
  sealedCounter,
  sealIntroducerPacket,
} from "../wire/introducer.js";
import {
  CLIENT_REFRESH_MS,
  INTRODUCE_MAX_SENDS,
  INTRODUCE_RETRY_BASE_MS,
  LOST_AFTER_ATTEMPTS,
  MAX_REGISTER_TXIDS,
  MAX_SEEN_INTRODUCTIONS,
  REFRESH_JITTER,
  REGISTER_REFUSED_RETRY_MS,
  REGISTER_RETRY_BASE_MS,
  REGISTER_RETRY_MAX_MS,
  RETRY_JITTER,
  SEEN_INTRODUCTION_TTL_MS,
} from "./introducer-client-constants.js";

export interface IntroducerClientOptions {
  /** Our name, as the introducer's config lists it with our public key. */
  name: string;
  privateKey: Buffer;
  /** The introducer's pinned public key; packets sealed by any other key are dropped. */
  introducerPublicKey: Buffer;
  /** Our LAN addresses with our UDP port (kind `host`). */
  lanCandidates: Candidate[];
  /** Local port of our TCP connection to the introducer, when this client rides on TCP. */
  tcpLocalPort?: number;
  /** Our name for a peer with this key, or null when it is not in our peers list. */
  accepts(peerPublicKey: Buffer): string | null;
  /** Wall-clock ms, only to seed the StaticBox counter (ignored when `box` is given). */
  wallClockMs: number;
  /** Uniform in [0, 1), for jitter and txids; injectable for deterministic tests. */
  random?: () => number;
  box?: StaticBox;
}

/** Refusals the client reports: the introducer's codes plus two it decides itself. */
export type ClientRefusalCode =
  | RefusalCode
  /** The introducer did not answer an INTRODUCE. */
  | "NO_ANSWER"
  /** The introducer named a key for the peer that is not the one in our peers list. */
  | "KEY_MISMATCH";

export type IntroducerClientOutput =
  | { type: "send"; packet: Buffer }
  /** First registration, registration after `lost`, or a changed public endpoint (changed: true:
   * our NAT mapping moved, sessions should re-punch). Plain refreshes emit nothing. */
  | { type: "registered"; observed: Endpoint; changed: boolean; rttMs: number }
  | {
      type: "introduction";
      introId: number;
      peerName: string;
      peerPublicKey: Buffer;
      candidates: Candidate[];
      /** When to start punching, absolute, on the clock that feeds `now`. */
      startAt: number;
      /** True when we asked for it (`introduce`), false when the peer did. */
      initiator: boolean;
    }
  | {
      type: "refused";
      request: "register" | "introduce";
      peerName?: string;
      code: ClientRefusalCode;
      reason: string;
    }
  /**
   * A repeat of an introduction we accepted carries a later start instant: the introducer moved
   * T because our ACK was late or lost (the requester is told the new T). Start then; if the
   * punch already started on the earlier T, probe again from the new one.
   */
  | { type: "retimed"; introId: number; peerName: string; startAt: number }
  /** Someone not in our peers list asked for us; we declined (the introducer tells them). */
  | { type: "declined"; peerName: string; peerPublicKey: Buffer }
  /** No answer to LOST_AFTER_ATTEMPTS REGISTERs in a row; retries continue with backoff. */
  | { type: "lost" };

type Send = Extract<IntroducerClientOutput, { type: "send" }>;

export interface IntroducerClientStatus {
  registered: boolean;
  publicEndpoint?: Endpoint;
  /** `now` of the last authenticated packet from the introducer. */
  lastContact?: number;
  rttMs?: number;
}

interface PendingIntroduce {
  peerName: string;
  txid: number;
  sends: number;
  nextAt: number;
}

const FROM_INTRODUCER = new Set<number>([
  IntroducerPacketType.REGISTERED,
  IntroducerPacketType.INTRODUCTION,
  IntroducerPacketType.REFUSED,
]);

export class IntroducerClient {
  readonly publicKey: Buffer;
  readonly counters = {
    received: 0,
    malformed: 0,
    /** Packets claiming to come from another introducer key: a fake introducer, dropped. */
    wrongIntroducer: 0,
    unauthenticated: 0,
    replayed: 0,
    /** Authenticated answers to nothing we asked (late duplicates). */
    stale: 0,
  };

  private readonly box: StaticBox;
  private readonly replay = new ReplayWindow(1024);
  private readonly random: () => number;
  private lan: Candidate[];
  private txidSeq: number;

  private registered = false;
  private publicEndpoint?: Endpoint;
  private lastContact?: number;
  private rttMs?: number;
  /** Unanswered REGISTERs in the current exchange, their send times by txid, the next send. */
  private regAttempts = 0;
  private readonly regSent = new Map<number, number>();
  private regNextAt?: number;
  private lostReported = false;

  private readonly introduces = new Map<string, PendingIntroduce>();
  /** introId → (our verdict, when); repeats of a handled introduction only get the ACK again. */
  private readonly seen = new Map<
    number,
    { accepted: boolean; at: number; timing: number; peerName?: string; startAt?: number }
  >();

  constructor(private readonly opts: IntroducerClientOptions) {
    const nameBytes = Buffer.byteLength(opts.name);
    if (nameBytes === 0 || nameBytes > MAX_NAME_BYTES)
      throw new P2pError("PEER_NAME", `peer name must be 1-${MAX_NAME_BYTES} bytes: "${opts.name}"`);
    this.publicKey = publicKeyOf(opts.privateKey);
    this.box =
      opts.box ??
      new StaticBox(
        opts.privateKey,
        this.publicKey,
        opts.introducerPublicKey,
        "introducer",
        opts.wallClockMs,
      );
    this.random = opts.random ?? Math.random;
    this.lan = opts.lanCandidates;
    this.txidSeq = Math.floor(this.random() * 0xffffffff);
  }

  status(): IntroducerClientStatus {
    return {
      registered: this.registered,
      publicEndpoint: this.publicEndpoint,
      lastContact: this.lastContact,
      rttMs: this.rttMs,
    };
  }

  /** Begins registering. */
  start(now: number): IntroducerClientOutput[] {
    return this.newRegisterExchange(now);
  }

  /** Re-registers right away, e.g. after the daemon saw its network change. */
  refresh(now: number): IntroducerClientOutput[] {
    return this.newRegisterExchange(now);
  }

  /** Takes effect with the next REGISTER (call `refresh` to send one now). */
  setLanCandidates(list: Candidate[]): void {
    this.lan = list;
  }

  /** Asks the introducer to introduce us to `peerName`; a request already running is not repeated. */
  introduce(peerName: string, now: number): IntroducerClientOutput[] {
    const nameBytes = Buffer.byteLength(peerName);
    if (nameBytes === 0 || nameBytes > MAX_NAME_BYTES)
      return [
        {
          type: "refused",
          request: "introduce",
          peerName,
          code: "PEER_UNKNOWN",
          reason: "not a valid peer name",
        },
      ];
    if (this.introduces.has(peerName)) return [];
    const p: PendingIntroduce = { peerName, txid: this.nextTxid(), sends: 0, nextAt: now };
    this.introduces.set(peerName, p);
    return [this.sendIntroduce(p, now)];
  }

  /** When `tick` next has work. */
  nextTimer(): number | undefined {
    let next = this.regNextAt;
    for (const p of this.introduces.values()) if (next === undefined || p.nextAt < next) next = p.nextAt;
    return next;
  }

  tick(now: number): IntroducerClientOutput[] {
    const out: IntroducerClientOutput[] = [];
    if (this.regNextAt !== undefined && this.regNextAt <= now) {
      if (this.regAttempts >= LOST_AFTER_ATTEMPTS && !this.lostReported) {
        this.lostReported = true;
        this.registered = false;
        out.push({ type: "lost" });
      }
      out.push(this.sendRegister(now));
    }
    for (const p of [...this.introduces.values()]) {
      if (p.nextAt > now) continue;
      if (p.sends < INTRODUCE_MAX_SENDS) {
        out.push(this.sendIntroduce(p, now));
        continue;
      }
      this.introduces.delete(p.peerName);
      out.push({
        type: "refused",
        request: "introduce",
        peerName: p.peerName,
        code: "NO_ANSWER",
        reason: "the introducer did not answer the introduction request",
      });
    }
    return out;
  }

  /** A packet from the introducer's address. Anything that does not authenticate is dropped. */
  handle(packet: Buffer, now: number): IntroducerClientOutput[] {
    this.counters.received++;
    const header = parseIntroducerPacket(packet);
    if (header === null || !FROM_INTRODUCER.has(header.type)) return this.drop("malformed");
    if (!header.senderKey.equals(this.opts.introducerPublicKey)) return this.drop("wrongIntroducer");
    const counter = sealedCounter(header);
    if (!this.replay.check(counter)) return this.drop("replayed");
    const opened = openIntroducerPacket(this.box, header);
    if (!opened.ok && opened.why === "unauthenticated") return this.drop("unauthenticated");
    this.replay.commit(counter);
    this.lastContact = now;
    if (!opened.ok) return this.drop("malformed");
    const msg = opened.msg;
    switch (msg.type) {
      case "registered":
        return this.onRegistered(msg, now);
      case "introduction":
        return this.onIntroduction(msg, now);
      case "refused":
        return this.onRefused(msg, now);
      default:
        return this.drop("malformed"); // unreachable: FROM_INTRODUCER admits only the above
    }
  }

  // ---- registration --------------------------------------------------------------------------

  private newRegisterExchange(now: number): IntroducerClientOutput[] {
    this.regAttempts = 0;
    this.regSent.clear();
    return [this.sendRegister(now)];
  }

  /** Each (re)transmission has its own txid, so the answer tells which one it was (for the RTT). */
  private sendRegister(now: number): Send {
    const txid = this.nextTxid();
    if (this.regSent.size >= MAX_REGISTER_TXIDS) this.regSent.delete(this.regSent.keys().next().value!);
    this.regSent.set(txid, now);
    this.regAttempts++;
    const backoff = Math.min(REGISTER_RETRY_BASE_MS * 2 ** (this.regAttempts - 1), REGISTER_RETRY_MAX_MS);
    this.regNextAt = now + this.jitter(backoff, RETRY_JITTER);
    return this.seal({
      type: "register",
      txid,
      name: this.opts.name,
      lanCandidates: this.lan.slice(0, MAX_LAN_CANDIDATES),
      tcpLocalPort: this.opts.tcpLocalPort,
      rttMs: this.rttMs,
    });
  }

  private onRegistered(msg: RegisteredMsg, now: number): IntroducerClientOutput[] {
    const sentAt = this.regSent.get(msg.txid);
    if (sentAt === undefined) return this.drop("stale");
    const firstRtt = this.rttMs === undefined;
    this.rttMs = now - sentAt;
    this.regSent.clear();
    this.regAttempts = 0;
    const early = 1 - this.random() * REFRESH_JITTER;
    // Counted from the answered send, so the NAT never sees our side silent for longer than this.
    this.regNextAt = sentAt + Math.min(msg.refreshSeconds * 1000, CLIENT_REFRESH_MS) * early;
    // The introducer times introductions with our RTT: report the first measurement right away.
    if (firstRtt) this.regNextAt = now;
    const changed = this.publicEndpoint !== undefined && !sameEndpoint(this.publicEndpoint, msg.observed);
    const announce = !this.registered || changed;
    this.registered = true;
    this.lostReported = false;
    this.publicEndpoint = msg.observed;
    return announce ? [{ type: "registered", observed: msg.observed, changed, rttMs: this.rttMs }] : [];
  }

  // ---- introductions -------------------------------------------------------------------------

  private sendIntroduce(p: PendingIntroduce, now: number): Send {
    p.sends++;
    p.nextAt = now + this.jitter(INTRODUCE_RETRY_BASE_MS * 2 ** (p.sends - 1), RETRY_JITTER);
    return this.seal({ type: "introduce", txid: p.txid, peerName: p.peerName });
  }

  private onIntroduction(msg: IntroductionMsg, now: number): IntroducerClientOutput[] {
    this.forgetOldIntroductions(now);
    const seen = this.seen.get(msg.introId);
    if (seen) {
      // A repeat. One carrying a newer start instant (the introducer moved T because our ACK
      // was lost or late) is followed; older or equal ones (reordered, duplicated) are not. The
      // ACK names the instant we follow, so the introducer tells the requester that one.
      if (!isNewerTiming(msg.timing, seen.timing)) return [this.ack(msg.introId, seen.accepted, seen.timing)];
      seen.timing = msg.timing;
      const ack = this.ack(msg.introId, seen.accepted, seen.timing);
      if (!seen.accepted || seen.peerName === undefined) return [ack];
      seen.startAt = now + msg.startInMs;
      return [ack, { type: "retimed", introId: msg.introId, peerName: seen.peerName, startAt: seen.startAt }];
    }

    const ours = this.pendingByTxid(msg.txid);
    const localName = this.opts.accepts(msg.peerPublicKey);
    const out: IntroducerClientOutput[] = [];
    let accepted: boolean;
    if (msg.txid !== 0 && ours === undefined) {
      // An answer to a request we gave up on: decline, so the introducer stops repeating it.
      this.counters.stale++;
      accepted = false;
    } else if (ours !== undefined) {
      this.introduces.delete(ours.peerName);
      accepted = localName === ours.peerName;
      if (!accepted)
        out.push({
          type: "refused",
          request: "introduce",
          peerName: ours.peerName,
          code: "KEY_MISMATCH",
          reason: `the introducer's key for ${ours.peerName} is not the one in our peers list`,
        });
    } else {
      // Asked by a peer we are asking for ourselves (crossing requests): this answers ours too.
      if (localName !== null) this.introduces.delete(localName);
      accepted = localName !== null;
      if (!accepted) out.push({ type: "declined", peerName: msg.peerName, peerPublicKey: msg.peerPublicKey });
    }
    this.remember(msg.introId, accepted, msg.timing, now);
    if (accepted)
      Object.assign(this.seen.get(msg.introId)!, { peerName: localName!, startAt: now + msg.startInMs });
    out.push(this.ack(msg.introId, accepted, msg.timing));
    if (accepted)
      out.push({
        type: "introduction",
        introId: msg.introId,
        peerName: localName!,
        peerPublicKey: msg.peerPublicKey,
        candidates: msg.candidates,
        startAt: now + msg.startInMs,
        initiator: ours !== undefined,
      });
    return out;
  }

  private onRefused(msg: RefusedMsg, now: number): IntroducerClientOutput[] {
    const ours = this.pendingByTxid(msg.txid);
    if (ours) {
      this.introduces.delete(ours.peerName);
      return [
        {
          type: "refused",
          request: "introduce",
          peerName: ours.peerName,
          code: msg.code,
          reason: msg.reason,
        },
      ];
    }
    if (this.regSent.has(msg.txid)) {
      this.registered = false;
      this.regSent.clear();
      this.regAttempts = 0;
      this.regNextAt = now + REGISTER_REFUSED_RETRY_MS;
      return [{ type: "refused", request: "register", code: msg.code, reason: msg.reason }];
    }
    return this.drop("stale");
  }

  private pendingByTxid(txid: number): PendingIntroduce | undefined {
    if (txid === 0) return undefined;
    for (const p of this.introduces.values()) if (p.txid === txid) return p;
    return undefined;
  }

  private remember(introId: number, accepted: boolean, timing: number, now: number): void {
    if (this.seen.size >= MAX_SEEN_INTRODUCTIONS) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(introId, { accepted, at: now, timing });
  }

  private forgetOldIntroductions(now: number): void {
    for (const [id, s] of this.seen) {
      if (now - s.at < SEEN_INTRODUCTION_TTL_MS) break; // insertion order is time order
      this.seen.delete(id);
    }
  }

  private ack(introId: number, accepted: boolean, timing: number): Send {
    return this.seal({ type: "introductionAck", introId, accepted, timing });
  }

  // ---- helpers -------------------------------------------------------------------------------

  private seal(msg: IntroducerMessage): Send {
    return { type: "send", packet: sealIntroducerPacket(this.box, this.publicKey, msg) };
  }

  /** A nonzero u32 (0 means "no request" in INTRODUCTION). */
  private nextTxid(): number {
    this.txidSeq = (this.txidSeq + 1) >>> 0 || 1;
    return this.txidSeq;
  }

  private jitter(ms: number, fraction: number): number {
    return ms * (1 + (this.random() * 2 - 1) * fraction);
  }

  private drop(why: keyof IntroducerClient["counters"]): IntroducerClientOutput[] {
    this.counters[why]++;
    return [];
  }
}

/** Serial-number order on the introducer's u8 timing counter (it only ever counts up). */
function isNewerTiming(candidate: number, held: number): boolean {
  const ahead = (candidate - held) & 0xff;
  return ahead > 0 && ahead < 0x80;
}
