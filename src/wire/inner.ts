/**
 * The first byte of a decrypted session payload (docs/PROTOCOL.md, "Noise session"), and the
 * small link-control messages that agree on which reliable channel + mux instance ("link") the
 * two peers are using. Decoders are total: they return null on anything malformed.
 */
export const INNER = {
  /** [linkId u32][reliable channel packet] — the UDP path's data. */
  CHANNEL: 0x01,
  /** [mux bytes] — the TCP path's data (TCP is already reliable and ordered). */
  MUX: 0x02,
  /** [linkId u32] the link leader's "use this link from now on". */
  LINK_OPEN: 0x03,
  /** [linkId u32] the follower's acknowledgement of LINK_OPEN. */
  LINK_ACK: 0x04,
  /** [nonce u32] the follower's "I need a link"; the same nonce for the same need. */
  LINK_REQUEST: 0x05,
} as const;

export function encodeU32Message(type: number, value: number): Buffer {
  const b = Buffer.allocUnsafe(5);
  b[0] = type;
  b.writeUInt32BE(value >>> 0, 1);
  return b;
}

/** The u32 of a 5-byte control message, or null. */
export function decodeU32Message(payload: Buffer): number | null {
  return payload.length === 5 ? payload.readUInt32BE(1) : null;
}

/** Length of the [CHANNEL][linkId] prefix of a channel packet. */
export const CHANNEL_PREFIX = 5;

/** Writes [CHANNEL][linkId] into the first CHANNEL_PREFIX bytes of `buf` (room left by the channel). */
export function writeChannelPrefix(buf: Buffer, linkId: number): void {
  buf[0] = INNER.CHANNEL;
  buf.writeUInt32BE(linkId >>> 0, 1);
}

/** Splits a CHANNEL payload into its link id and packet, or null when too short. */
export function decodeChannelPacket(payload: Buffer): { linkId: number; packet: Buffer } | null {
  if (payload.length < CHANNEL_PREFIX) return null;
  return { linkId: payload.readUInt32BE(1), packet: payload.subarray(CHANNEL_PREFIX) };
}
