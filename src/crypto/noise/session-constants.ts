/**
 * Every timer and limit of the peer session in one place (values after WireGuard's, adjusted
 * where p2ptun differs). Tests override them through `SessionManagerOptions.timings`.
 */

/** Mixed into the Noise handshake hash: a peer speaking another protocol version cannot agree. */
export const SESSION_PROLOGUE = Buffer.from("p2ptun v1", "ascii");

export interface SessionTimings {
  /** The keypair's initiator starts a new handshake once its keys are this old. */
  rekeyAfterMs: number;
  /** Keys older than this are never used again, in either direction. */
  rejectAfterMs: number;
  /**
   * The responder of a keypair rekeys this much later than the initiator would, so that normally
   * only one side starts (and a silent initiator still cannot let the keys run out).
   */
  responderRekeyDelayMs: number;
  /** A handshake starts once this many messages were sent with one keypair... */
  rekeyAfterMessages: number;
  /** ...and sending stops at this many (kept far below 2^53 so counters stay exact numbers). */
  rejectAfterMessages: number;
  /** After a rekey the previous keys still decrypt packets that were in flight, for this long. */
  previousKeysGraceMs: number;
  /** First INIT retransmission delay; doubles on each attempt up to the maximum. */
  handshakeRetransmitMs: number;
  handshakeRetransmitMaxMs: number;
  /** Each delay is stretched by up to this fraction at random, so two peers do not stay in step. */
  handshakeJitter: number;
  /** A handshake nobody answers is abandoned after this long (and `handshakeFailed` emitted). */
  handshakeGiveUpMs: number;
  /** INITs from one peer closer together than this are dropped (costly DH work, WireGuard's 20 ms). */
  initMinIntervalMs: number;
  /**
   * INITs processed per second over all senders (with this burst); beyond it they are dropped
   * before any DH work. Legitimate initiators retransmit, so a flood only delays them.
   */
  initsPerSecond: number;
  initBurst: number;
  /** Payloads `send` holds while a handshake is under way; beyond either bound new ones are dropped. */
  queueMaxPackets: number;
  queueMaxBytes: number;
  /** Anti-replay window per keypair, in packets (multiple of 32). Reordering deeper than this drops. */
  replayWindow: number;
}

export const DEFAULT_SESSION_TIMINGS: Readonly<SessionTimings> = {
  rekeyAfterMs: 120_000,
  rejectAfterMs: 180_000,
  responderRekeyDelayMs: 10_000,
  rekeyAfterMessages: 2 ** 48,
  rejectAfterMessages: 2 ** 50,
  previousKeysGraceMs: 10_000,
  handshakeRetransmitMs: 1_000,
  handshakeRetransmitMaxMs: 8_000,
  handshakeJitter: 0.2,
  handshakeGiveUpMs: 90_000,
  initMinIntervalMs: 20,
  initsPerSecond: 500,
  initBurst: 100,
  queueMaxPackets: 64,
  queueMaxBytes: 1 << 20,
  replayWindow: 8192,
};
