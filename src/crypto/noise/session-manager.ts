/**
 * Sans-I/O manager of the Noise IK sessions between our static key and a set of pinned peers.
 * Fed packets (types 0x20-0x22), payloads to send and clock ticks, it returns actions; it never
 * touches a socket or a timer. Packets are routed by our index (src/wire/session.ts), so a peer
 * that changes address keeps its session ("roaming").
 *
 * Lifecycle per peer (see peer-state.ts for the keypair slots):
 * - `connect` sends an INIT; the RESPONSE makes the keys `current` (`established`) and we send a
 *   DATA at once (queued payloads, else an empty keepalive) so the responder can confirm.
 * - the responder keeps its keys as `next` until that first DATA arrives, then `established`.
 * - keys are renewed by a new handshake on age (tick) or message count (send); the replaced
 *   keys stay valid for a grace period, then are dropped; nothing is used after REJECT_AFTER.
 * - both sides sending INIT at once: the side with the greater public key keeps its own
 *   handshake and ignores the other's; the lower one abandons its own and answers.
 * Timers all live in `tick`; `nextTimer` says when it is due.
 */
import { randomBytes } from "node:crypto";
import type { Endpoint } from "../../util/addr.js";
import { sameEndpoint } from "../../util/addr.js";
import {
  DATA_HEADER_LEN,
  DATA_TAG_LEN,
  decodeSessionPacket,
  encodeInit,
  encodeResponse,
  readDataCounter,
  SessionPacketType,
} from "../../wire/session.js";
import type { KeyPair } from "../primitives.js";
import { keyPairFromPrivate } from "./handshake-state.js";
import { Keypair } from "./keypair.js";
import { PeerState, type PendingInit, type SessionKeypair } from "./peer-state.js";
import { DEFAULT_SESSION_TIMINGS, type SessionTimings } from "./session-constants.js";
import {
  consumeInit,
  consumeResponse,
  createInit,
  createResponse,
  type TransportKeys,
} from "./session-handshake.js";
import {
  type PeerKey,
  SESSION_COUNTERS,
  type SessionAction,
  type SessionCounter,
  SessionError,
  type SessionManagerOptions,
  type SessionPeerStatus,
} from "./session-types.js";
import { Tai64nSource } from "./tai64n.js";
import { TokenBucket } from "./token-bucket.js";
import { x25519 } from "./x25519.js";

export type {
  PeerKey,
  SessionAction,
  SessionCounter,
  SessionManagerOptions,
  SessionPeerStatus,
} from "./session-types.js";
export { SessionError } from "./session-types.js";

/** A peer key must be 32 bytes and not a low-order point (the handshake's DH would fail on it). */
function checkPeerKey(local: KeyPair, id: string, key: Buffer): void {
  let ok = key.length === 32;
  if (ok) {
    try {
      x25519(local.privateKey, key);
    } catch {
      ok = false;
    }
  }
  if (!ok) throw new SessionError("BAD_PEER_KEY", `peer key ${id} is not a usable X25519 public key`);
}

const EMPTY = Buffer.alloc(0);
const peerId = (key: PeerKey): string => (typeof key === "string" ? key : key.toString("base64"));
const copyEndpoint = (e: Endpoint): Endpoint => ({ host: e.host, port: e.port });
const isSameEndpoint = (a: Endpoint, b: Endpoint | undefined): boolean =>
  b !== undefined && ((a.port === b.port && a.host === b.host) || sameEndpoint(a, b));

export class SessionManager {
  readonly counters: Record<SessionCounter, number>;
  readonly publicKey: Buffer;
  private readonly local: KeyPair;
  private readonly timings: SessionTimings;
  private readonly random: () => number;
  private readonly wallClockMs: () => number;
  private readonly timestamps = new Tai64nSource();
  private readonly peers = new Map<string, PeerState>();
  /** Our indices: pending INITs and keypairs, the only way RESPONSE and DATA find their peer. */
  private readonly byIndex = new Map<number, PendingInit | SessionKeypair>();
  /** Keypairs used on the hot path since the last prepareNext(). */
  private readonly toPrepare: SessionKeypair[] = [];
  private readonly initBudget: TokenBucket;
  private now: number;
  /** Set by every change to a handshake or keypair, so nextTimer recomputes only then. */
  private timersChanged = true;
  private cachedNextTimer: number | undefined;

  constructor(opts: SessionManagerOptions) {
    this.local = keyPairFromPrivate(Buffer.from(opts.privateKey));
    this.publicKey = this.local.publicKey;
    this.timings = { ...DEFAULT_SESSION_TIMINGS, ...opts.timings };
    this.random = opts.random ?? Math.random;
    this.wallClockMs = opts.wallClockMs ?? Date.now;
    this.now = opts.now;
    this.initBudget = new TokenBucket(this.timings.initsPerSecond, this.timings.initBurst, opts.now);
    this.counters = Object.fromEntries(SESSION_COUNTERS.map((n) => [n, 0])) as Record<SessionCounter, number>;
    this.setPeers(opts.peers);
  }

  /** Replaces the pinned set. Removed peers lose their sessions at once; kept ones are untouched. */
  setPeers(peers: Buffer[]): void {
    this.timersChanged = true;
    // Own copies: the caller may reuse its buffers, and the DH key-object cache is per buffer.
    const wanted = new Map(peers.map((k) => [peerId(k), Buffer.from(k)]));
    // Validate first, so that a bad key leaves the previous set fully in place.
    for (const [id, key] of wanted) if (!this.peers.has(id)) checkPeerKey(this.local, id, key);
    for (const [id, p] of this.peers) {
      if (wanted.has(id)) continue;
      this.dropPending(p);
      for (const kp of p.keypairs()) this.dropKeypair(kp);
      this.counters.queueDropped += p.queue.length;
      this.peers.delete(id);
    }
    for (const [id, key] of wanted) if (!this.peers.has(id)) this.peers.set(id, new PeerState(id, key));
  }

  /** Starts (or restarts) a handshake with a pinned peer at `endpoint`. */
  connect(peer: PeerKey, endpoint: Endpoint, now: number): SessionAction[] {
    this.now = now;
    const p = this.peers.get(peerId(peer));
    if (!p)
      throw new SessionError("PEER_NOT_PINNED", `cannot connect to ${peerId(peer)}: not a configured peer`);
    p.endpoint = copyEndpoint(endpoint);
    return this.startHandshake(p, now, now, 0);
  }

  /** Any packet of type 0x20-0x22. Malformed, unknown and unauthentic packets are counted, never thrown. */
  handle(packet: Buffer, from: Endpoint, now: number): SessionAction[] {
    this.now = now;
    if (packet.length > 0 && packet[0] === SessionPacketType.Data) return this.handleData(packet, from, now);
    const decoded = decodeSessionPacket(packet);
    if (decoded?.type === "init") return this.handleInit(decoded.senderIndex, decoded.noise, from, now);
    if (decoded?.type === "response") return this.handleResponse(decoded, from, now);
    this.counters.malformed++;
    return [];
  }

  /**
   * Encrypts `payload` to the peer's endpoint. Without usable keys the payload is queued (bounded)
   * and a handshake started if none is under way and the endpoint is known (otherwise the queue
   * waits for the peer's INIT); it goes out once the session is established.
   */
  send(peer: PeerKey, payload: Buffer, now: number): SessionAction[] {
    this.now = now;
    const p = this.peers.get(peerId(peer));
    if (!p) return this.drop("noSession");
    const kp = p.current;
    if (kp && p.endpoint && now < kp.expiresAt && kp.sendCounter < this.timings.rejectAfterMessages) {
      p.txBytes += payload.length;
      const actions: SessionAction[] = [
        { type: "send", peer: p.id, to: p.endpoint, packet: kp.seal(payload) },
      ];
      this.listForPrepare(kp);
      if (kp.sendCounter >= this.timings.rekeyAfterMessages && !kp.rekeyStarted && !p.pending) {
        kp.rekeyStarted = true;
        actions.push(...this.startHandshake(p, now, now, 0));
      }
      return actions;
    }
    this.enqueue(p, payload);
    // The responder of a fresh handshake waits a little for the initiator's confirming DATA
    // instead of starting a crossing handshake of its own.
    if (p.pending || now - p.lastHandshakeSentAt < this.timings.handshakeRetransmitMs) return [];
    return this.startHandshake(p, now, now, 0);
  }

  /** Runs the timers that are due; each is a named hook below. */
  tick(now: number): SessionAction[] {
    this.timersChanged = true;
    this.now = now;
    const actions: SessionAction[] = [];
    for (const p of this.peers.values()) {
      if (p.pending && now >= p.pending.retransmitAt) this.onRetransmitTimer(p, p.pending, actions, now);
      this.onKeyLifetimes(p, now);
      const cur = p.current;
      if (cur && !cur.rekeyStarted && !p.pending && now >= cur.rekeyAt)
        this.onRekeyTimer(p, cur, actions, now);
    }
    return actions;
  }

  /** Fires `retransmitAt` after an INIT went unanswered: a fresh INIT, or give up. */
  private onRetransmitTimer(p: PeerState, pending: PendingInit, actions: SessionAction[], now: number): void {
    if (now - pending.startedAt < this.timings.handshakeGiveUpMs) {
      actions.push(...this.startHandshake(p, now, pending.startedAt, pending.attempt + 1));
      return;
    }
    this.dropPending(p);
    this.counters.handshakeFailed++;
    this.counters.queueDropped += p.queue.length;
    p.queue = [];
    p.queueBytes = 0;
    actions.push({ type: "handshakeFailed", peer: p.id });
  }

  /** Fires at a grace period's end or REJECT_AFTER: the keys are dropped and wiped. */
  private onKeyLifetimes(p: PeerState, now: number): void {
    if (p.previous && now >= Math.min(p.previous.retireAt, p.previous.expiresAt)) {
      this.dropKeypair(p.previous);
      p.previous = undefined;
    }
    if (p.current && now >= p.current.expiresAt) {
      this.dropKeypair(p.current);
      p.current = undefined;
    }
    if (p.next && now >= p.next.expiresAt) {
      this.dropKeypair(p.next);
      p.next = undefined;
    }
  }

  /**
   * Fires at REKEY_AFTER (the keypair's responder: a little later): a new handshake, once per
   * keypair, whether or not traffic flows, so a session between two running daemons never lapses.
   */
  private onRekeyTimer(p: PeerState, cur: SessionKeypair, actions: SessionAction[], now: number): void {
    cur.rekeyStarted = true;
    actions.push(...this.startHandshake(p, now, now, 0));
  }

  /** Absolute time (ms) at which `tick` next has work, or undefined when nothing is scheduled. */
  nextTimer(): number | undefined {
    // Cached: the daemon asks after every packet, and DATA packets rarely change any timer.
    if (!this.timersChanged) return this.cachedNextTimer;
    this.timersChanged = false;
    this.cachedNextTimer = this.computeNextTimer();
    return this.cachedNextTimer;
  }

  private computeNextTimer(): number | undefined {
    let t = Number.POSITIVE_INFINITY;
    for (const p of this.peers.values()) {
      if (p.pending) t = Math.min(t, p.pending.retransmitAt);
      if (p.previous) t = Math.min(t, p.previous.retireAt, p.previous.expiresAt);
      if (p.next) t = Math.min(t, p.next.expiresAt);
      const cur = p.current;
      if (cur) {
        t = Math.min(t, cur.expiresAt);
        if (!cur.rekeyStarted && !p.pending) t = Math.min(t, cur.rekeyAt);
      }
    }
    return t === Number.POSITIVE_INFINITY ? undefined : t;
  }

  /** Whether we hold keys we may send with (as of the last `now` we were given). */
  isEstablished(peer: PeerKey): boolean {
    const cur = this.peers.get(peerId(peer))?.current;
    return cur !== undefined && this.now < cur.expiresAt;
  }

  /** A snapshot for status displays; undefined for a peer that is not pinned. */
  peerStatus(peer: PeerKey): SessionPeerStatus | undefined {
    const p = this.peers.get(peerId(peer));
    if (!p) return undefined;
    return {
      endpoint: p.endpoint && copyEndpoint(p.endpoint),
      established: this.isEstablished(p.id),
      handshakeAt: p.current?.createdAt,
      handshakeInProgress: p.pending !== undefined,
      lastReceivedAt: p.lastReceivedAt,
      txBytes: p.txBytes,
      rxBytes: p.rxBytes,
    };
  }

  endpointOf(peer: PeerKey): Endpoint | undefined {
    const e = this.peers.get(peerId(peer))?.endpoint;
    return e && copyEndpoint(e);
  }

  // ---- DATA: the hot path ----

  private handleData(packet: Buffer, from: Endpoint, now: number): SessionAction[] {
    if (packet.length < DATA_HEADER_LEN + DATA_TAG_LEN) return this.drop("malformed");
    const kp = this.byIndex.get(packet.readUInt32LE(1));
    if (kp === undefined || kp.kind !== "keypair") return this.drop("unknownIndex");
    const counter = readDataCounter(packet);
    if (counter < 0) return this.drop("malformed");
    if (now >= kp.expiresAt) return this.drop("expired");
    if (now >= kp.retireAt) return this.drop("staleKey");
    if (!kp.isFresh(counter)) return this.drop("replay");
    const payload = kp.open(packet, counter);
    if (payload === null) return this.drop("decryptFail");
    this.listForPrepare(kp);
    const newest = kp.commit(counter);

    const p = kp.peer;
    p.rxBytes += payload.length;
    p.lastReceivedAt = now;
    const actions: SessionAction[] = [];
    // Only the newest packet on live keys may move the endpoint: a late, reordered packet from
    // the old address must not pull the session back.
    if (newest && kp !== p.previous && !isSameEndpoint(from, p.endpoint)) {
      p.endpoint = copyEndpoint(from);
      actions.push({ type: "roamed", peer: p.id, endpoint: copyEndpoint(from) });
    }
    if (kp === p.next) this.confirmNext(p, actions, now);
    else if (kp === p.previous) this.reconfirm(p, actions, now);
    if (payload.length > 0) actions.push({ type: "deliver", peer: p.id, from, payload });
    return actions;
  }

  // ---- handshake ----

  private handleInit(senderIndex: number, noise: Buffer, from: Endpoint, now: number): SessionAction[] {
    if (!this.initBudget.take(now)) return this.drop("initRateLimited");
    const consumed = consumeInit(this.local, noise, (rs) => this.peers.get(rs.toString("base64"))?.publicKey);
    if (!consumed.ok) return this.drop(consumed.failure === "unknownKey" ? "unknownKey" : "decryptFail");
    const p = this.peers.get(consumed.remoteStatic.toString("base64"));
    if (!p) return this.drop("unknownKey");
    if (p.greatestTimestamp && Buffer.compare(consumed.timestamp, p.greatestTimestamp) <= 0)
      return this.drop("initReplay");
    if (now - p.lastInitReceivedAt < this.timings.initMinIntervalMs) return this.drop("initFlood");
    p.greatestTimestamp = consumed.timestamp;
    p.lastInitReceivedAt = now;

    if (p.pending && Buffer.compare(this.publicKey, p.publicKey) > 0) {
      // Crossing INITs: ours wins and theirs is ignored. But the peer is evidently there and
      // waiting for our INIT, so if it shows up somewhere ours did not go (it moved or
      // restarted), or ours may have been lost (sent a retransmission interval ago or more),
      // send a fresh one there now rather than wait out our backed-off timer.
      this.counters.simultaneousIgnored++;
      const recent = now - p.lastHandshakeSentAt < this.timings.handshakeRetransmitMs;
      if (recent && isSameEndpoint(from, p.pending.endpoint)) return [];
      p.endpoint = copyEndpoint(from);
      return this.startHandshake(p, now, now, 0);
    }
    this.dropPending(p); // ours loses (or there is none): answer theirs

    const localIndex = this.newIndex();
    const { noise: reply, keys } = createResponse(consumed.hs);
    if (p.next) this.dropKeypair(p.next);
    p.next = this.newKeypair(p, localIndex, senderIndex, keys, false, now);
    p.endpoint ??= copyEndpoint(from); // an existing endpoint moves only with authenticated DATA
    p.lastHandshakeSentAt = now;
    return [
      {
        type: "send",
        peer: p.id,
        to: copyEndpoint(from),
        packet: encodeResponse(localIndex, senderIndex, reply),
      },
    ];
  }

  private handleResponse(
    r: { senderIndex: number; receiverIndex: number; noise: Buffer },
    from: Endpoint,
    now: number,
  ): SessionAction[] {
    const pending = this.byIndex.get(r.receiverIndex);
    if (pending === undefined || pending.kind !== "init" || pending.peer.pending !== pending)
      return this.drop("unknownIndex");
    const keys = consumeResponse(pending.hs, r.noise);
    if (keys === null) return this.drop("decryptFail");
    const p = pending.peer;
    p.pending = undefined;
    this.timersChanged = true;
    const kp = this.newKeypair(p, pending.localIndex, r.senderIndex, keys, true, now);
    const actions: SessionAction[] = [];
    if (!isSameEndpoint(from, p.endpoint)) {
      p.endpoint = copyEndpoint(from);
      actions.push({ type: "roamed", peer: p.id, endpoint: copyEndpoint(from) });
    }
    if (p.next) {
      this.dropKeypair(p.next); // an unconfirmed answer of ours is older than this handshake
      p.next = undefined;
    }
    this.install(p, kp, actions, now);
    // The responder needs one DATA on the new keys before it uses them: send queued payloads,
    // or an empty keepalive when there are none.
    if (p.queue.length === 0) actions.push(this.sealTo(p, kp, EMPTY));
    else this.flush(p, kp, actions);
    return actions;
  }

  private confirmNext(p: PeerState, actions: SessionAction[], now: number): void {
    const kp = p.next as SessionKeypair;
    p.next = undefined;
    this.install(p, kp, actions, now);
    this.flush(p, kp, actions);
  }

  /**
   * The peer still sends on keys we replaced as initiator: either packets in flight, or our
   * confirming DATA was lost and it still holds our keys as "next". Without a fresh DATA from us
   * it would keep using keys we stop accepting after the grace period, so send an empty one
   * (at most once per retransmission interval).
   */
  private reconfirm(p: PeerState, actions: SessionAction[], now: number): void {
    const cur = p.current;
    if (!cur?.initiator || now - cur.confirmSentAt < this.timings.handshakeRetransmitMs) return;
    if (now >= cur.expiresAt || cur.sendCounter >= this.timings.rejectAfterMessages) return;
    cur.confirmSentAt = now;
    actions.push(this.sealTo(p, cur, EMPTY));
  }

  /** Makes `kp` current; the old current becomes previous with a grace period. */
  private install(p: PeerState, kp: SessionKeypair, actions: SessionAction[], now: number): void {
    this.timersChanged = true;
    if (p.previous) this.dropKeypair(p.previous);
    p.previous = p.current;
    if (p.previous) p.previous.retireAt = now + this.timings.previousKeysGraceMs;
    p.current = kp;
    actions.push({ type: "established", peer: p.id, endpoint: copyEndpoint(p.endpoint as Endpoint) });
  }

  private startHandshake(p: PeerState, now: number, startedAt: number, attempt: number): SessionAction[] {
    this.timersChanged = true;
    this.dropPending(p);
    const to = p.endpoint;
    if (!to) return [];
    const { hs, noise } = createInit(this.local, p.publicKey, this.timestamps.next(this.wallClockMs()));
    const localIndex = this.newIndex();
    const base = Math.min(
      this.timings.handshakeRetransmitMs * 2 ** attempt,
      this.timings.handshakeRetransmitMaxMs,
    );
    const retransmitAt = now + base * (1 + this.timings.handshakeJitter * this.random());
    const pending: PendingInit = {
      kind: "init",
      peer: p,
      localIndex,
      hs,
      startedAt,
      attempt,
      endpoint: copyEndpoint(to),
      retransmitAt,
    };
    p.pending = pending;
    this.byIndex.set(localIndex, pending);
    p.lastHandshakeSentAt = now;
    return [{ type: "send", peer: p.id, to: copyEndpoint(to), packet: encodeInit(localIndex, noise) }];
  }

  // ---- helpers ----

  private newKeypair(
    p: PeerState,
    localIndex: number,
    remoteIndex: number,
    keys: TransportKeys,
    initiator: boolean,
    now: number,
  ): SessionKeypair {
    this.timersChanged = true;
    const t = this.timings;
    const kp = new Keypair(p, {
      localIndex,
      remoteIndex,
      sendKey: keys.send,
      recvKey: keys.recv,
      initiator,
      createdAt: now,
      rekeyAt: now + t.rekeyAfterMs + (initiator ? 0 : t.responderRekeyDelayMs),
      expiresAt: now + t.rejectAfterMs,
      replayWindow: t.replayWindow,
    });
    this.byIndex.set(localIndex, kp);
    return kp;
  }

  private sealTo(p: PeerState, kp: SessionKeypair, payload: Buffer): SessionAction {
    this.listForPrepare(kp);
    return { type: "send", peer: p.id, to: copyEndpoint(p.endpoint as Endpoint), packet: kp.seal(payload) };
  }

  private listForPrepare(kp: SessionKeypair): void {
    if (kp.prepareListed) return;
    kp.prepareListed = true;
    this.toPrepare.push(kp);
  }

  /**
   * Makes the ciphers of the next DATA packet each way for the keypairs used since the last call
   * (Keypair.prepare). Call it once the packets that `send`/`handle` returned are on their way:
   * the work then happens after they left instead of before the next one can.
   */
  prepareNext(): void {
    const list = this.toPrepare;
    for (let i = 0; i < list.length; i++) {
      list[i].prepareListed = false;
      list[i].prepare();
    }
    list.length = 0;
  }

  private enqueue(p: PeerState, payload: Buffer): void {
    if (
      p.queue.length >= this.timings.queueMaxPackets ||
      p.queueBytes + payload.length > this.timings.queueMaxBytes
    ) {
      this.counters.queueDropped++;
      return;
    }
    p.queue.push(Buffer.from(payload)); // the caller may reuse its buffer once send returns
    p.queueBytes += payload.length;
  }

  private flush(p: PeerState, kp: SessionKeypair, actions: SessionAction[]): void {
    for (const payload of p.queue) actions.push(this.sealTo(p, kp, payload));
    p.txBytes += p.queueBytes;
    p.queue = [];
    p.queueBytes = 0;
  }

  private dropPending(p: PeerState): void {
    this.timersChanged = true;
    if (!p.pending) return;
    this.byIndex.delete(p.pending.localIndex);
    p.pending = undefined;
  }

  private dropKeypair(kp: SessionKeypair): void {
    this.timersChanged = true;
    if (this.byIndex.get(kp.localIndex) === kp) this.byIndex.delete(kp.localIndex);
    kp.wipe();
  }

  private newIndex(): number {
    for (;;) {
      const i = randomBytes(4).readUInt32LE(0);
      if (!this.byIndex.has(i)) return i;
    }
  }

  private drop(counter: SessionCounter): SessionAction[] {
    this.counters[counter]++;
    return [];
  }
}
