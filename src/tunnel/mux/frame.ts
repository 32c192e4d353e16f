/**
 * Encoders and body parsers of mux frames. Pure: no I/O, no time. Parsers return `null` for a body
 * that is malformed; they never throw on network input.
 */
import {
  FLAG_FIN,
  FrameType,
  HEADER_SIZE,
  MAX_REASON_BYTES,
  MAX_TARGET_BYTES,
  PING_BODY_SIZE,
} from "./constants.js";

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  /** For DATA frames this may be a view into the received chunk: consume it before it is reused. */
  body: Buffer;
}

function header(type: number, flags: number, streamId: number, bodyLength: number, extra = 0): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_SIZE + extra);
  buf[0] = type;
  buf[1] = flags;
  buf.writeUInt32BE(streamId >>> 0, 2);
  buf.writeUInt32BE(bodyLength >>> 0, 6);
  return buf;
}

/** Only the header of a DATA frame: the body goes out as the caller's own buffers, uncopied. */
export function encodeDataHeader(streamId: number, bodyLength: number, fin: boolean): Buffer {
  return header(FrameType.DATA, fin ? FLAG_FIN : 0, streamId, bodyLength);
}

/** A whole DATA frame in one buffer (copies; for tests and tiny bodies). */
export function encodeData(streamId: number, body: Buffer, fin = false): Buffer {
  return Buffer.concat([encodeDataHeader(streamId, body.length, fin), body]);
}

export function encodeWindowUpdate(streamId: number, delta: number): Buffer {
  const buf = header(FrameType.WINDOW_UPDATE, 0, streamId, 4, 4);
  buf.writeUInt32BE(delta >>> 0, HEADER_SIZE);
  return buf;
}

/** Throws for a target that could never be sent: a programming mistake, not network input. */
export function encodeOpen(streamId: number, target: string): Buffer {
  const t = Buffer.from(target, "utf8");
  if (t.length === 0 || t.length > MAX_TARGET_BYTES) {
    throw new RangeError(`mux target must be 1..${MAX_TARGET_BYTES} bytes, got ${t.length}`);
  }
  const buf = header(FrameType.OPEN, 0, streamId, t.length, t.length);
  t.copy(buf, HEADER_SIZE);
  return buf;
}

export function encodeAccept(streamId: number): Buffer {
  return header(FrameType.ACCEPT, 0, streamId, 0);
}

/** Reason texts are cut to MAX_REASON_BYTES, backing off to a UTF-8 character boundary. */
function reasonBytes(reason: string): Buffer {
  const r = Buffer.from(reason, "utf8");
  if (r.length <= MAX_REASON_BYTES) return r;
  let end = MAX_REASON_BYTES;
  while (end > 0 && (r[end] & 0xc0) === 0x80) end--;
  return r.subarray(0, end);
}

function encodeCoded(type: number, streamId: number, code: number, reason: string): Buffer {
  const r = reasonBytes(reason);
  const buf = header(type, 0, streamId, 2 + r.length, 2 + r.length);
  buf.writeUInt16BE(code & 0xffff, HEADER_SIZE);
  r.copy(buf, HEADER_SIZE + 2);
  return buf;
}

export function encodeReset(streamId: number, code: number, reason: string): Buffer {
  return encodeCoded(FrameType.RESET, streamId, code, reason);
}

export function encodeGoAway(code: number, reason: string): Buffer {
  return encodeCoded(FrameType.GO_AWAY, 0, code, reason);
}

export function encodePing(opaque: Buffer, pong = false): Buffer {
  const buf = header(pong ? FrameType.PONG : FrameType.PING, 0, 0, PING_BODY_SIZE, PING_BODY_SIZE);
  opaque.copy(buf, HEADER_SIZE, 0, PING_BODY_SIZE);
  return buf;
}

export function parseWindowUpdate(body: Buffer): number | null {
  return body.length === 4 ? body.readUInt32BE(0) : null;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A target must be non-empty, valid UTF-8 and free of control characters. */
export function parseOpen(body: Buffer): string | null {
  if (body.length === 0 || body.length > MAX_TARGET_BYTES) return null;
  let target: string;
  try {
    target = utf8.decode(body);
  } catch {
    return null;
  }
  return /[\u0000-\u001f\u007f]/.test(target) ? null : target;
}

export interface CodedBody {
  code: number;
  reason: string;
}

/** RESET and GO_AWAY bodies. Invalid UTF-8 in the reason is replaced, not an error: it is only text. */
export function parseCoded(body: Buffer): CodedBody | null {
  if (body.length < 2 || body.length > 2 + MAX_REASON_BYTES) return null;
  return { code: body.readUInt16BE(0), reason: body.toString("utf8", 2) };
}
