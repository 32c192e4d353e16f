/**
 * Wire constants and tunables of the stream multiplexer, in one place. The wire layout is
 * documented in docs/PROTOCOL.md ("Mux").
 */

/** `[type u8][flags u8][stream id u32][body length u32]`, big-endian. */
export const HEADER_SIZE = 10;

export const FrameType = {
  /** Stream bytes; may carry FLAG_FIN. Only after the stream was accepted. */
  DATA: 0x00,
  /** Body `[delta u32]`: the receiver grants this many more bytes of send credit. */
  WINDOW_UPDATE: 0x01,
  /** Body: the target (`host:port`, UTF-8). Opens a new stream with the sender's id parity. */
  OPEN: 0x02,
  /** Empty body. The responder accepted the stream; data may flow both ways. */
  ACCEPT: 0x03,
  /** Body `[code u16][reason UTF-8]`. Aborts a stream, or refuses an OPEN. */
  RESET: 0x04,
  /** Stream 0, body 8 opaque bytes, answered by PONG with the same bytes. */
  PING: 0x05,
  PONG: 0x06,
  /** Stream 0, body `[code u16][reason UTF-8]`. The sender ends the session; all streams are gone. */
  GO_AWAY: 0x07,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** The sender will send no more bytes on this stream (half-close). */
export const FLAG_FIN = 0x01;

export const PING_BODY_SIZE = 8;
/** Targets longer than this are refused at the encoder and are a protocol error on the wire. */
export const MAX_TARGET_BYTES = 1024;
/** Reason texts are truncated to this many bytes when encoded. */
export const MAX_REASON_BYTES = 512;
/** Largest body of any non-DATA frame (a RESET/GO_AWAY with a full reason, or an OPEN). */
export const MAX_CONTROL_BODY = Math.max(MAX_TARGET_BYTES, 2 + MAX_REASON_BYTES);

/** Every stream starts with this much credit in each direction, without any frame saying so. */
export const INITIAL_STREAM_WINDOW = 256 * 1024;
/** Auto-tuning doubles a stream's receive window up to this. */
export const DEFAULT_MAX_STREAM_WINDOW = 16 * 1024 * 1024;
/** Auto-tuning stops when the windows of all streams together would exceed this. */
export const DEFAULT_MAX_SESSION_WINDOW = 64 * 1024 * 1024;
/** Credit beyond this is nonsense (a window update overflow) and a protocol error. */
export const MAX_SEND_CREDIT = 2 ** 31 - 1;

/**
 * Largest DATA body on the wire, a protocol constant: every peer accepts bodies up to this, so
 * the `maxFrameSize` option (what we send) can only lower it and needs no negotiation.
 */
export const MAX_DATA_BODY = 64 * 1024;
export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024;
export const DEFAULT_MAX_STREAMS = 1024;
/**
 * Queued-but-unsent bytes per stream above which the stream's Duplex stops accepting writes.
 * The channel below buffers the bulk; this only stages bytes until the next pull, so it is kept
 * small: 64 busy streams hold 4 MB here, not 16 (daemon RSS).
 */
export const DEFAULT_STREAM_SEND_BUFFER = 64 * 1024;

/** Mux keepalive: a PING this often; no bytes at all from the peer for the timeout ends the session. */
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 15_000;
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 45_000;

/**
 * While streams are busy, window auto-tuning wants a current RTT (queueing included), so a PING
 * rides along with a window update when none was sent for this long.
 */
export const RTT_PROBE_INTERVAL_MS = 250;

/**
 * Bytes the session adapter pulls from the core per channel write batch; also how far it may
 * overshoot the channel's high-water mark, so kept to one frame's worth.
 */
export const WRITE_BATCH_BYTES = 64 * 1024;
/** Pieces smaller than this are copied together into one channel write. */
export const COALESCE_BELOW = 16 * 1024;
