/**
 * Numeric reason codes carried by RESET (per stream) and GO_AWAY (per session). They are part of
 * the wire protocol: never renumber. The SOCKS5 server maps RESET codes to SOCKS reply codes.
 */
export const RESET = {
  /** The opener or the accepter gave up on the stream (local destroy without an error). */
  CANCELLED: 1,
  /** The exit's ACL does not allow this peer to reach this target. */
  REFUSED_BY_POLICY: 2,
  /** The target actively refused the TCP connection. */
  CONNECTION_REFUSED: 3,
  HOST_UNREACHABLE: 4,
  NETWORK_UNREACHABLE: 5,
  NAME_NOT_RESOLVED: 6,
  TIMEOUT: 7,
  /** A bug or an unexpected local error. */
  INTERNAL: 8,
  /** The mux session ended (channel closed, GO_AWAY, keepalive timeout). */
  PEER_GONE: 9,
  /** The responder already has its maximum number of concurrent streams. */
  TOO_MANY_STREAMS: 10,
  /** The target string is not a usable `host:port`. */
  BAD_TARGET: 11,
  /** The target connection was reset after it was established. */
  CONNECTION_RESET: 12,
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

/** `CONNECTION_REFUSED` for 3; `UNKNOWN_<n>` for codes a newer peer may send. */
export function resetCodeName(code: number): string {
  return RESET_NAMES.get(code) ?? `UNKNOWN_${code}`;
}

export function goAwayCodeName(code: number): string {
  return GOAWAY_NAMES.get(code) ?? `UNKNOWN_${code}`;
}
