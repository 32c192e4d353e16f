/**
 * Framing of the peer session packets (types 0x20-0x22), WireGuard-style: packets are routed by
 * the receiver's index, never by source address, which is what lets a session roam. All integers
 * are little-endian (as in WireGuard), so the DATA counter bytes are exactly the Noise nonce's.
 *
 *   INIT     [0x20][sender index u32][noise msg 1: e 32, enc(s) 48, enc(timestamp 12) 28]  = 113 bytes
 *   RESPONSE [0x21][sender index u32][receiver index u32][noise msg 2: e 32, enc(empty) 16] = 57 bytes
 *   DATA     [0x22][receiver index u32][counter u64][ciphertext: plaintext + 16-byte tag]
 *
 * Decoders are total: any input yields a packet or null. Decoded `noise` and `ciphertext` are
 * views into the input, not copies.
 */

export const SessionPacketType = { Init: 0x20, Response: 0x21, Data: 0x22 } as const;

export const TIMESTAMP_LEN = 12;
export const INIT_NOISE_LEN = 32 + (32 + 16) + (TIMESTAMP_LEN + 16);
export const RESPONSE_NOISE_LEN = 32 + 16;
export const INIT_LEN = 1 + 4 + INIT_NOISE_LEN;
export const RESPONSE_LEN = 1 + 4 + 4 + RESPONSE_NOISE_LEN;
export const DATA_HEADER_LEN = 1 + 4 + 8;
export const DATA_COUNTER_OFFSET = 5;
export const DATA_TAG_LEN = 16;
/** Senders stop long before this (session constants); larger counters are malformed. */
export const MAX_DATA_COUNTER = Number.MAX_SAFE_INTEGER;

export type SessionPacket =
  | { type: "init"; senderIndex: number; noise: Buffer }
  | { type: "response"; senderIndex: number; receiverIndex: number; noise: Buffer }
  | { type: "data"; receiverIndex: number; counter: number; ciphertext: Buffer };

export function isSessionPacket(packet: Buffer): boolean {
  return packet.length > 0 && packet[0] >= SessionPacketType.Init && packet[0] <= SessionPacketType.Data;
}

export function decodeSessionPacket(packet: Buffer): SessionPacket | null {
  if (packet.length === 0) return null;
  switch (packet[0]) {
    case SessionPacketType.Init:
      if (packet.length !== INIT_LEN) return null;
      return { type: "init", senderIndex: packet.readUInt32LE(1), noise: packet.subarray(5) };
    case SessionPacketType.Response:
      if (packet.length !== RESPONSE_LEN) return null;
      return {
        type: "response",
        senderIndex: packet.readUInt32LE(1),
        receiverIndex: packet.readUInt32LE(5),
        noise: packet.subarray(9),
      };
    case SessionPacketType.Data: {
      if (packet.length < DATA_HEADER_LEN + DATA_TAG_LEN) return null;
      const counter = readDataCounter(packet);
      if (counter < 0) return null;
      return {
        type: "data",
        receiverIndex: packet.readUInt32LE(1),
        counter,
        ciphertext: packet.subarray(DATA_HEADER_LEN),
      };
    }
    default:
      return null;
  }
}

export function encodeInit(senderIndex: number, noise: Buffer): Buffer {
  if (noise.length !== INIT_NOISE_LEN)
    throw new RangeError(`INIT noise message must be ${INIT_NOISE_LEN} bytes`);
  const out = Buffer.allocUnsafe(INIT_LEN);
  out[0] = SessionPacketType.Init;
  out.writeUInt32LE(senderIndex, 1);
  noise.copy(out, 5);
  return out;
}

export function encodeResponse(senderIndex: number, receiverIndex: number, noise: Buffer): Buffer {
  if (noise.length !== RESPONSE_NOISE_LEN)
    throw new RangeError(`RESPONSE noise message must be ${RESPONSE_NOISE_LEN} bytes`);
  const out = Buffer.allocUnsafe(RESPONSE_LEN);
  out[0] = SessionPacketType.Response;
  out.writeUInt32LE(senderIndex, 1);
  out.writeUInt32LE(receiverIndex, 5);
  noise.copy(out, 9);
  return out;
}

/**
 * The 13-byte header of a DATA packet; the ciphertext and tag follow it on the wire (sent as
 * separate pieces, see Datagram).
 */
export function encodeDataHeader(receiverIndex: number, counter: number): Buffer {
  const out = Buffer.allocUnsafe(DATA_HEADER_LEN);
  out[0] = SessionPacketType.Data;
  out.writeUInt32LE(receiverIndex, 1);
  out.writeUInt32LE(counter >>> 0, DATA_COUNTER_OFFSET);
  out.writeUInt32LE(Math.floor(counter / 2 ** 32), DATA_COUNTER_OFFSET + 4);
  return out;
}

/** The DATA counter as a number, or -1 if it exceeds MAX_DATA_COUNTER or the packet is short. */
export function readDataCounter(packet: Buffer): number {
  if (packet.length < DATA_HEADER_LEN) return -1;
  const lo = packet.readUInt32LE(DATA_COUNTER_OFFSET);
  const hi = packet.readUInt32LE(DATA_COUNTER_OFFSET + 4);
  if (hi > 0x1fffff) return -1;
  return hi * 2 ** 32 + lo;
}
