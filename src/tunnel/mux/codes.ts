/**
 * Numeric reason codes carried by RESET (per stream) and GO_AWAY (per session). They are part of
 * the wire protocol: never renumber. The stream-refusal codes are the shared vocabulary of
 * `src/tunnel/stream-errors.ts` (exit dialer, SOCKS replies), so a refusal keeps its meaning end
 * to end; codes only the mux produces live from 0x100 up, clear of that table's future additions.
 */
import { STREAM_REFUSAL_CODES as REFUSAL } from "../stream-errors.js";

export const RESET = {
  /** The exit's ACL does not allow this peer to reach this target (NOT_ALLOWED). */
  REFUSED_BY_POLICY: REFUSAL.NOT_ALLOWED,
  /** The target actively refused the TCP connection. */
  CONNECTION_REFUSED: REFUSAL.CONNECTION_REFUSED,
  HOST_UNREACHABLE: REFUSAL.HOST_UNREACHABLE,
  NAME_NOT_RESOLVED: REFUSAL.NAME_NOT_RESOLVED,
  NETWORK_UNREACHABLE: REFUSAL.NETWORK_UNREACHABLE,
  TIMEOUT: REFUSAL.TIMEOUT,
  /** The mux session ended (channel closed, GO_AWAY, keepalive timeout) (PEER_NOT_CONNECTED). */
  PEER_GONE: REFUSAL.PEER_NOT_CONNECTED,
  /** A bug or an unexpected local error. */
  INTERNAL: REFUSAL.INTERNAL,
  /** The opener or the accepter gave up on the stream (local destroy without an error). */
  CANCELLED: REFUSAL.CANCELLED,
  /** The target string is not a usable `host:port`. */
  BAD_TARGET: REFUSAL.BAD_TARGET,
  /** The responder already has its maximum number of concurrent streams. */
  TOO_MANY_STREAMS: 0x100,
  /** The target connection was reset after it was established. */
  CONNECTION_RESET: 0x101,
} as const;
export type ResetCode = (typeof RESET)[keyof typeof RESET];

export const GOAWAY = {
  /** Orderly shutdown (`MuxSession.close()`). */
  NORMAL: 0,
  /** The peer broke the protocol: bad frame, window overrun, id misuse. */
  PROTOCOL_ERROR: 1,
  /** Nothing received from the peer for the keepalive timeout. */
  KEEPALIVE_TIMEOUT: 2,
  INTERNAL: 3,
} as const;
export type GoAwayCode = (typeof GOAWAY)[keyof typeof GOAWAY];

const RESET_NAMES = new Map<number, string>(Object.entries(RESET).map(([k, v]) => [v, k]));
const GOAWAY_NAMES = new Map<number, string>(Object.entries(GOAWAY).map(([k, v]) => [v, k]));

/** `CONNECTION_REFUSED` for 2; `UNKNOWN_<n>` for codes a newer peer may send. */
export function resetCodeName(code: number): string {
  return RESET_NAMES.get(code) ?? `UNKNOWN_${code}`;
}

export function goAwayCodeName(code: number): string {
  return GOAWAY_NAMES.get(code) ?? `UNKNOWN_${code}`;
}
