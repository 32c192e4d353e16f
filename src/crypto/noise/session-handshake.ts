/**
 * The four steps of the p2ptun IK handshake (WireGuard's create/consume split), pure functions
 * over HandshakeState with no session state: the manager decides what to do with the results.
 *
 *   initiator: createInit(s, rs, timestamp) ── INIT ──▶ responder: consumeInit(s, noise, isPinned)
 *   initiator: consumeResponse(hs, noise)   ◀── RESPONSE ── responder: createResponse(hs)
 */
import type { KeyPair } from "../primitives.js";
import { type HandshakeFailure, HandshakeState } from "./handshake-state.js";
import { PATTERNS } from "./patterns.js";
import { SESSION_PROLOGUE } from "./session-constants.js";
import { TAI64N_LEN } from "./tai64n.js";

export interface TransportKeys {
  send: Buffer;
  recv: Buffer;
}

function ik(
  initiator: boolean,
  s: KeyPair,
  rs?: Buffer,
  accept?: (rs: Buffer) => Buffer | undefined,
): HandshakeState {
  const acceptRemoteStatic = accept && ((key: Buffer) => accept(key) ?? false);
  return new HandshakeState({
    pattern: PATTERNS.IK,
    initiator,
    prologue: SESSION_PROLOGUE,
    s,
    rs,
    acceptRemoteStatic,
  });
}

/** Noise message 1; its payload is the timestamp. */
export function createInit(s: KeyPair, rs: Buffer, timestamp: Buffer): { hs: HandshakeState; noise: Buffer } {
  const hs = ik(true, s, rs);
  return { hs, noise: hs.writeMessage(timestamp) };
}

export type ConsumedInit =
  | { ok: true; hs: HandshakeState; remoteStatic: Buffer; timestamp: Buffer }
  | { ok: false; failure: HandshakeFailure };

/**
 * Reads message 1. `pinned` is asked as soon as the initiator's static key is decrypted and
 * returns our stored copy of it (reused so its DH key object is cached), or undefined: an unpinned
 * key stops the read there (failure `unknownKey`).
 */
export function consumeInit(
  s: KeyPair,
  noise: Buffer,
  pinned: (rs: Buffer) => Buffer | undefined,
): ConsumedInit {
  const hs = ik(false, s, undefined, pinned);
  const timestamp = hs.readMessage(noise);
  if (timestamp === null || !hs.rs) return { ok: false, failure: hs.failure ?? "decrypt" };
  if (timestamp.length !== TAI64N_LEN) return { ok: false, failure: "length" };
  return { ok: true, hs, remoteStatic: hs.rs, timestamp };
}

/** Noise message 2 (empty payload) and the responder's transport keys. */
export function createResponse(hs: HandshakeState): { noise: Buffer; keys: TransportKeys } {
  const noise = hs.writeMessage();
  const [i2r, r2i] = hs.split();
  return { noise, keys: { send: r2i, recv: i2r } };
}

/** Reads message 2 on a copy of `hs`, so a forged response leaves the pending handshake usable. */
export function consumeResponse(hs: HandshakeState, noise: Buffer): TransportKeys | null {
  const attempt = hs.clone();
  const payload = attempt.readMessage(noise);
  if (payload === null || payload.length !== 0) return null;
  const [i2r, r2i] = attempt.split();
  return { send: i2r, recv: r2i };
}
