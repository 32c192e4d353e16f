/**
 * Wire format of one reliable-channel packet (the plaintext of inner type 0x01, see PROTOCOL.md):
 *
 *   packet  = packet-number(varint) frame+
 *   PADDING 0x00                                      rest of the packet is padding
 *   PING    0x01                                      ack-eliciting, no body
 *   ACK     0x02 largest delay-µs range-count first-range (gap range-len)*
 *   STREAM  0x03 offset length data                   data with explicit length
 *   STREAM  0x04 offset data                          data up to the end of the packet
 *   MAX_DATA 0x05 max-offset                          connection flow-control credit
 *   CLOSE   0x06 reason-length reason(utf8)           the sender has closed the channel
 *
 * All numbers are QUIC varints. ACK ranges use RFC 9000 §19.3.1 semantics. Every frame except
 * ACK, PADDING and CLOSE is ack-eliciting. The decoder never throws: malformed input → null.
 */
import { MAX_CLOSE_REASON_BYTES } from "./constants.js";
import { Reader, varintSize, writeVarint } from "./varint.js";

export const FrameType = {
  PADDING: 0x00,
  PING: 0x01,
  ACK: 0x02,
  STREAM: 0x03,
  STREAM_TO_END: 0x04,
  MAX_DATA: 0x05,
  CLOSE: 0x06,
} as const;

export interface AckFrame {
  largest: number;
  delayUs: number;
  /** Acknowledged packet numbers as [high, low] pairs (inclusive), highest first. */
  ranges: number[];
}

export interface StreamFrame {
  offset: number;
  data: Buffer;
}

export interface DecodedPacket {
  pn: number;
  ackEliciting: boolean;
  ack: AckFrame | null;
  streams: StreamFrame[];
  /** Largest MAX_DATA value in the packet, or -1. */
  maxData: number;
  ping: boolean;
  paddingBytes: number;
  /** Reason text of a CLOSE frame, or null when there is none. */
  close: string | null;
}

const NO_STREAMS: StreamFrame[] = [];

export function decodePacket(buf: Buffer): DecodedPacket | null {
  const r = new Reader(buf);
  const pn = r.varint();
  if (!r.ok || r.remaining === 0) return null;
  const p: DecodedPacket = {
    pn,
    ackEliciting: false,
    ack: null,
    streams: NO_STREAMS,
    maxData: -1,
    ping: false,
    paddingBytes: 0,
    close: null,
  };
  while (r.remaining > 0) {
    const type = r.u8();
    switch (type) {
      case FrameType.PADDING:
        p.paddingBytes = r.remaining + 1;
        r.pos = buf.length;
        break;
      case FrameType.PING:
        p.ping = true;
        p.ackEliciting = true;
        break;
      case FrameType.ACK: {
        const ack = decodeAck(r);
        if (ack === null) return null;
        p.ack = ack;
        break;
      }
      case FrameType.STREAM:
      case FrameType.STREAM_TO_END: {
        const offset = r.varint();
        const len = type === FrameType.STREAM ? r.varint() : r.remaining;
        const data = r.bytes(len);
        if (!r.ok || offset + len > Number.MAX_SAFE_INTEGER) return null;
        if (p.streams === NO_STREAMS) p.streams = [];
        p.streams.push({ offset, data });
        p.ackEliciting = true;
        break;
      }
      case FrameType.MAX_DATA: {
        const v = r.varint();
        if (!r.ok) return null;
        if (v > p.maxData) p.maxData = v;
        p.ackEliciting = true;
        break;
      }
      case FrameType.CLOSE: {
        const len = r.varint();
        if (len > MAX_CLOSE_REASON_BYTES) return null;
        const text = r.bytes(len);
        if (!r.ok) return null;
        p.close = text.toString("utf8");
        break;
      }
      default:
        return null;
    }
  }
  return r.ok ? p : null;
}

function decodeAck(r: Reader): AckFrame | null {
  const largest = r.varint();
  const delayUs = r.varint();
  const extra = r.varint();
  const first = r.varint();
  // Each extra range takes at least two bytes: bound the loop by what the packet can hold.
  if (!r.ok || first > largest || extra > r.remaining / 2) return null;
  const ranges = [largest, largest - first];
  let low = largest - first;
  for (let i = 0; i < extra; i++) {
    const gap = r.varint();
    const len = r.varint();
    const high = low - gap - 2;
    if (!r.ok || high < 0 || len > high) return null;
    low = high - len;
    ranges.push(high, low);
  }
  return { largest, delayUs, ranges };
}

/**
 * Size of the ACK frame for received ranges `ranges` (flat, ascending, half-open [start, end)
 * pairs, as kept by RangeSet), limited to the `maxRanges` highest ranges.
 */
export function ackFrameSize(ranges: readonly number[], delayUs: number, maxRanges: number): number {
  const n = ranges.length >> 1;
  if (n === 0) return 0;
  const count = Math.min(n, maxRanges);
  let i = n - 1;
  const largest = ranges[2 * i + 1] - 1;
  let size = 1 + varintSize(largest) + varintSize(delayUs) + varintSize(count - 1);
  size += varintSize(largest - ranges[2 * i]);
  let low = ranges[2 * i];
  for (let k = 1; k < count; k++) {
    i--;
    const high = ranges[2 * i + 1] - 1;
    size += varintSize(low - high - 2) + varintSize(high - ranges[2 * i]);
    low = ranges[2 * i];
  }
  return size;
}

/** Writes the ACK frame described in `ackFrameSize`; returns the position after it. */
export function writeAckFrame(
  buf: Buffer,
  pos: number,
  ranges: readonly number[],
  delayUs: number,
  maxRanges: number,
): number {
  const n = ranges.length >> 1;
  const count = Math.min(n, maxRanges);
  let i = n - 1;
  const largest = ranges[2 * i + 1] - 1;
  buf[pos++] = FrameType.ACK;
  pos = writeVarint(buf, pos, largest);
  pos = writeVarint(buf, pos, delayUs);
  pos = writeVarint(buf, pos, count - 1);
  pos = writeVarint(buf, pos, largest - ranges[2 * i]);
  let low = ranges[2 * i];
  for (let k = 1; k < count; k++) {
    i--;
    const high = ranges[2 * i + 1] - 1;
    pos = writeVarint(buf, pos, low - high - 2);
    pos = writeVarint(buf, pos, high - ranges[2 * i]);
    low = ranges[2 * i];
  }
  return pos;
}

export function maxDataFrameSize(v: number): number {
  return 1 + varintSize(v);
}

export function writeMaxDataFrame(buf: Buffer, pos: number, v: number): number {
  buf[pos++] = FrameType.MAX_DATA;
  return writeVarint(buf, pos, v);
}

/** Header of a STREAM frame that runs to the end of the packet (data is copied by the caller). */
export function streamToEndHeaderSize(offset: number): number {
  return 1 + varintSize(offset);
}

export function writeStreamToEndHeader(buf: Buffer, pos: number, offset: number): number {
  buf[pos++] = FrameType.STREAM_TO_END;
  return writeVarint(buf, pos, offset);
}

/** Encodes a CLOSE frame body; the reason is cut to MAX_CLOSE_REASON_BYTES on a character boundary. */
export function encodeCloseReason(reason: string): Buffer {
  let bytes = Buffer.from(reason, "utf8");
  if (bytes.length > MAX_CLOSE_REASON_BYTES) {
    let end = MAX_CLOSE_REASON_BYTES;
    while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
    bytes = bytes.subarray(0, end);
  }
  return bytes;
}

export function closeFrameSize(reason: Buffer): number {
  return 1 + varintSize(reason.length) + reason.length;
}

export function writeCloseFrame(buf: Buffer, pos: number, reason: Buffer): number {
  buf[pos++] = FrameType.CLOSE;
  pos = writeVarint(buf, pos, reason.length);
  reason.copy(buf, pos);
  return pos + reason.length;
}

export function writeStreamFrame(buf: Buffer, pos: number, offset: number, data: Buffer): number {
  buf[pos++] = FrameType.STREAM;
  pos = writeVarint(buf, pos, offset);
  pos = writeVarint(buf, pos, data.length);
  data.copy(buf, pos);
  return pos + data.length;
}

export function streamFrameSize(offset: number, len: number): number {
  return 1 + varintSize(offset) + varintSize(len) + len;
}
