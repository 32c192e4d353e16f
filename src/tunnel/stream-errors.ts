/**
 * Why a stream could not be opened (or was reset). One vocabulary shared by the exit dialer, the
 * mux (which carries the numeric form on the wire) and the SOCKS server (which maps it to RFC 1928
 * reply codes). The numbers are part of the wire protocol: never renumber, only append.
 */
import { P2pError } from "../util/errors.js";

export const STREAM_REFUSAL_CODES = {
  NOT_ALLOWED: 1,
  CONNECTION_REFUSED: 2,
  HOST_UNREACHABLE: 3,
  NAME_NOT_RESOLVED: 4,
  NETWORK_UNREACHABLE: 5,
  TIMEOUT: 6,
  PEER_NOT_CONNECTED: 7,
  INTERNAL: 8,
  CANCELLED: 9,
  BAD_TARGET: 10,
} as const;

export type StreamRefusalCode = keyof typeof STREAM_REFUSAL_CODES;

const BY_NUMBER = new Map<number, StreamRefusalCode>(
  Object.entries(STREAM_REFUSAL_CODES).map(([name, n]) => [n, name as StreamRefusalCode]),
);

export function refusalCodeToWire(code: StreamRefusalCode): number {
  return STREAM_REFUSAL_CODES[code];
}

/** Unknown numbers (a newer peer) read as INTERNAL rather than failing the decode. */
export function refusalCodeFromWire(n: number): StreamRefusalCode {
  return BY_NUMBER.get(n) ?? "INTERNAL";
}

export function isStreamRefusalCode(s: unknown): s is StreamRefusalCode {
  return typeof s === "string" && Object.hasOwn(STREAM_REFUSAL_CODES, s);
}

/** A stream open that was refused; `reason` is human text safe to show to the far side. */
export class StreamRefusedError extends P2pError {
  declare readonly code: StreamRefusalCode;
  constructor(
    code: StreamRefusalCode,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(code, reason, options);
  }

  get wireCode(): number {
    return STREAM_REFUSAL_CODES[this.code];
  }
}

/**
 * Reads any rejection of `open(target)` as a refusal: our own error, an error carrying a wire
 * number (`code: 2`) or a code name, a Node socket error (`ECONNREFUSED`…), else INTERNAL.
 */
export function toStreamRefused(err: unknown): StreamRefusedError {
  if (err instanceof StreamRefusedError) return err;
  const e = (typeof err === "object" && err !== null ? err : {}) as { code?: unknown; reason?: unknown };
  const text = typeof e.reason === "string" ? e.reason : err instanceof Error ? err.message : String(err);
  if (typeof e.code === "number")
    return new StreamRefusedError(refusalCodeFromWire(e.code), text, { cause: err });
  if (isStreamRefusalCode(e.code)) return new StreamRefusedError(e.code, text, { cause: err });
  const fromErrno = typeof e.code === "string" ? ERRNO_REFUSALS[e.code] : undefined;
  return new StreamRefusedError(fromErrno ?? "INTERNAL", text, { cause: err });
}

/** Node/libuv error codes of connect and lookup, read as refusals. */
const ERRNO_REFUSALS: Record<string, StreamRefusalCode> = {
  ECONNREFUSED: "CONNECTION_REFUSED",
  ECONNRESET: "CONNECTION_REFUSED",
  EHOSTUNREACH: "HOST_UNREACHABLE",
  EHOSTDOWN: "HOST_UNREACHABLE",
  ENETUNREACH: "NETWORK_UNREACHABLE",
  ENETDOWN: "NETWORK_UNREACHABLE",
  EADDRNOTAVAIL: "NETWORK_UNREACHABLE",
  ETIMEDOUT: "TIMEOUT",
  ENOTFOUND: "NAME_NOT_RESOLVED",
  EAI_AGAIN: "NAME_NOT_RESOLVED",
  EAI_NONAME: "NAME_NOT_RESOLVED",
  EAI_NODATA: "NAME_NOT_RESOLVED",
  ENODATA: "NAME_NOT_RESOLVED",
  EAI_FAIL: "NAME_NOT_RESOLVED",
  ESERVFAIL: "NAME_NOT_RESOLVED",
  ECANCELED: "CANCELLED",
};
