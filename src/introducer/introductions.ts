/**
 * Introductions in progress, and the arithmetic of the common start instant.
 *
 * Sequence (A asks for B):
 *   A → INTRODUCE(B) ; introducer → B: INTRODUCTION(A's candidates) ; B → ACK(accepted | refused)
 *   accepted: introducer → A: INTRODUCTION(B's candidates) ; A → ACK
 *   refused:  introducer → A: REFUSED NOT_ACCEPTED
 * B's candidates (its addresses) are revealed to A only once B agreed, so registering with an
 * introducer does not let every other registered peer learn where you are.
 *
 * Timing: the introducer keeps one instant T on its own clock. Every INTRODUCTION (first send or
 * repeat) carries `startInMs = T − sendTime − rtt/2` of its recipient, so the packet's flight time
 * (about rtt/2) is subtracted and both peers start at T. Each peer sends its punch primer when
 * its INTRODUCTION arrives and probes from T on, so both must hear of the introduction before T;
 * a T in the past would start them at different moments.
 *
 * T is fixed when the target is first sent its INTRODUCTION and moved later (to now + lead) when
 * a repeat to the target finds it too close for the target's ACK and the requester's INTRODUCTION
 * to arrive before it (the target was unreachable for a while, e.g. it restarted behind a new
 * port), or when the target's ACK itself arrives too late for the requester. Each T has a number
 * (`timing`, counted mod 256) that INTRODUCTIONs carry; the target's client follows the newest T
 * it heard (probing again from it if it had started) and its ACK names that number. Only an ACK
 * naming the current T lets the requester be told T: an ACK for an earlier one crossed the copy
 * that moved T, which may be lost, and the target would then start at the earlier T while the
 * requester started at the later. T moves at a repeat only once the ACK of the last copy that
 * could still make it is overdue, so that when the target's round trip is longer than the repeat
 * interval an ACK on its way is not made stale by every repeat.
 */
import type { RefusalCode } from "../wire/introducer.js";
import {
  DEFAULT_RTT_MS,
  FINISHED_MEMORY_MS,
  INTRO_LATE_START_TOLERANCE_MS,
  INTRO_MARGIN_MS,
  INTRO_MAX_LEAD_MS,
  INTRO_MIN_LEAD_MS,
  MAX_FINISHED_INTRODUCTIONS,
  MAX_PENDING_INTRODUCTIONS,
  MAX_PENDING_PER_REQUESTER,
} from "./constants.js";
import type { PeerEntry, Source } from "./registry.js";

/** `awaitRegistration`: the target is configured but not registered yet; the introduction starts
 * when it registers (`nextSendAt` is then the time to give up and refuse PEER_NOT_REGISTERED). */
export type IntroPhase = "awaitRegistration" | "awaitTarget" | "awaitRequester";

export interface PendingIntro {
  introId: number;
  requester: PeerEntry;
  target: PeerEntry;
  /** The txid of the requester's INTRODUCE (its latest retransmission's route and txid win). */
  requesterTxid: number;
  requesterRoute: Source;
  phase: IntroPhase;
  /** The common start instant T, on the introducer's clock (moved later while the target has
   * not acknowledged and T became too close; see the file comment). */
  startAt: number;
  /** T's number (mod 256), carried in INTRODUCTIONs and echoed by the target's ACK. */
  timing: number;
  /** When a copy that could still be acknowledged in time (see `ackOverdue`) last went out. */
  viableSentAt: number;
  /** INTRODUCTION packets sent in the current phase, and when the next repeat is due. */
  sends: number;
  nextSendAt: number;
}

/** T − now: the target's round trip for its ACK, then the requester's half trip, plus a margin. */
export function startLeadMs(requester: PeerEntry, target: PeerEntry): number {
  const lead = rttOf(target) + rttOf(requester) / 2 + INTRO_MARGIN_MS;
  return Math.min(INTRO_MAX_LEAD_MS, Math.max(INTRO_MIN_LEAD_MS, lead));
}

/** The least time T must still be away when an INTRODUCTION goes to the target: its round trip
 * (INTRODUCTION → ACK) and the requester's half trip. A T closer than this is moved later. */
export function minTargetLeadMs(requester: PeerEntry, target: PeerEntry): number {
  // Capped below the longest lead, so that absurd RTTs cannot make every repeat move T.
  return Math.min(rttOf(target) + rttOf(requester) / 2, INTRO_MAX_LEAD_MS / 2);
}

/**
 * Moves T later, with the next timing number: to `startLeadMs` from now, or, when `retime` (a move
 * after copies or ACKs were lost), far enough that the repeats sent until T may move again
 * (`ackOverdue`) still leave the target's round trip before it, so that each of them can succeed
 * rather than only the first (a target whose round trip exceeds the repeat interval).
 */
export function setStart(p: PendingIntro, now: number, retime = false): void {
  const lead = startLeadMs(p.requester, p.target);
  const covered = retime ? minTargetLeadMs(p.requester, p.target) + ackWaitMs(p) : 0;
  const startAt = now + Math.min(INTRO_MAX_LEAD_MS, Math.max(lead, covered));
  // Never earlier than before: a target that started follows only a later T.
  if (startAt <= p.startAt) return;
  p.startAt = startAt;
  p.timing = (p.timing + 1) & 0xff;
}

/** Whether a copy sent to the target now leaves time for its ACK and the requester's copy. */
export function targetCopyViable(p: PendingIntro, now: number): boolean {
  return p.startAt - now >= minTargetLeadMs(p.requester, p.target);
}

/** Whether a repeat to the target may move T: the ACK of the last copy that could still make it
 * before T should have arrived. Moving T while such an ACK may be on its way would make it name
 * a stale T. */
export function ackOverdue(p: PendingIntro, now: number): boolean {
  return now - p.viableSentAt >= ackWaitMs(p);
}

function ackWaitMs(p: PendingIntro): number {
  return 1.5 * rttOf(p.target);
}

/** Whether the requester, sent its INTRODUCTION now, hears of it before T (or so little after
 * it that starting at once is as good). */
export function requesterInTime(p: PendingIntro, now: number): boolean {
  return p.startAt - now >= rttOf(p.requester) / 2 - INTRO_LATE_START_TOLERANCE_MS;
}

/** The delay a peer is told: start at T once the packet, sent at `now`, has arrived. */
export function startInMsFor(peer: PeerEntry, startAt: number, now: number): number {
  return Math.max(0, Math.round(startAt - now - rttOf(peer) / 2));
}

function rttOf(p: PeerEntry): number {
  return p.rttMs ?? DEFAULT_RTT_MS;
}

/** How an introduction ended, as far as its requester is concerned. */
export type IntroOutcome =
  | { kind: "refused"; code: RefusalCode; reason: string }
  | { kind: "acked" }
  /** The requester never acknowledged its INTRODUCTION (kept to send it again on request). */
  | { kind: "unacked"; intro: PendingIntro };

export class PendingIntroductions {
  /** Outcomes by requester and txid, so that a late repeat of an INTRODUCE gets the same answer
   * instead of starting a second introduction (the target would hear about it twice). */
  private readonly finished = new Map<string, { outcome: IntroOutcome; at: number }>();
  private readonly byId = new Map<number, PendingIntro>();
  private readonly byPair = new Map<string, PendingIntro>();
  private nextId: number;

  /** `firstId` should differ between runs (the core seeds it from the wall clock) so that a
   * restarted introducer does not reuse ids a daemon still remembers. */
  constructor(firstId: number) {
    this.nextId = firstId >>> 0 || 1;
  }

  get size(): number {
    return this.byId.size;
  }

  get(introId: number): PendingIntro | undefined {
    return this.byId.get(introId);
  }

  forPair(requester: PeerEntry, target: PeerEntry): PendingIntro | undefined {
    return this.byPair.get(pairKey(requester, target));
  }

  /** False when a limit is reached (all in progress, or this requester's share). */
  hasRoomFor(requester: PeerEntry): boolean {
    if (this.byId.size >= MAX_PENDING_INTRODUCTIONS) return false;
    let mine = 0;
    for (const p of this.byId.values()) if (p.requester === requester) mine++;
    return mine < MAX_PENDING_PER_REQUESTER;
  }

  add(init: Omit<PendingIntro, "introId">): PendingIntro {
    // Ids are unique among those in progress; they need not be unpredictable (inside the box).
    while (this.byId.has(this.nextId) || this.nextId === 0) this.nextId = (this.nextId + 1) >>> 0;
    const p: PendingIntro = { ...init, introId: this.nextId };
    this.nextId = (this.nextId + 1) >>> 0;
    this.byId.set(p.introId, p);
    this.byPair.set(pairKey(p.requester, p.target), p);
    return p;
  }

  delete(p: PendingIntro): void {
    this.byId.delete(p.introId);
    this.byPair.delete(pairKey(p.requester, p.target));
  }

  /** Ends `p` with `outcome`, remembered for FINISHED_MEMORY_MS. */
  finish(p: PendingIntro, outcome: IntroOutcome, now: number): void {
    this.delete(p);
    if (this.finished.size >= MAX_FINISHED_INTRODUCTIONS)
      this.finished.delete(this.finished.keys().next().value!);
    this.finished.set(txKey(p.requester, p.requesterTxid), { outcome, at: now });
  }

  outcomeOf(requester: PeerEntry, txid: number, now: number): IntroOutcome | undefined {
    for (const [k, f] of this.finished) {
      if (now - f.at < FINISHED_MEMORY_MS) break; // insertion order is time order
      this.finished.delete(k);
    }
    return this.finished.get(txKey(requester, txid))?.outcome;
  }

  values(): PendingIntro[] {
    return [...this.byId.values()];
  }
}

function txKey(requester: PeerEntry, txid: number): string {
  return `${requester.name}\n${txid}`;
}

function pairKey(requester: PeerEntry, target: PeerEntry): string {
  return `${requester.name}\n${target.name}`;
}
