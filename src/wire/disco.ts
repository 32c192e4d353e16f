/**
 * Disco: the path probes two daemons exchange before and beside their Noise session (PROTOCOL.md,
 * "Disco"). A probe must work from any source address and before any session exists, so it is
 * sealed with a StaticBox between the two static keys instead.
 *
 *   packet    = [type u8: 0x10 PING | 0x11 PONG][sender public key 32][sealed]   AD = first 33 bytes
 *   PING body = [txid 12][padding: zero bytes, any length]   (padding lets a ping test a path MTU)
 *   PONG body = [txid 12][observed source endpoint of the ping]
 *
 * This module is pure: the sealing box is passed in (anything with StaticBox's seal/open shape), so
 * wire/ does not depend on crypto/. Every decoder is total: bad input gives null, never a throw.
 */
import type { Endpoint } from "../util/addr.js";
import { Reader, Writer } from "./reader.js";

export const DISCO_PING = 0x10;
export const DISCO_PONG = 0x11;
export const DISCO_KEY_LEN = 32;
/** Type byte + sender key: the authenticated-but-clear header. */
export const DISCO_HEADER_LEN = 1 + DISCO_KEY_LEN;
export const DISCO_TXID_LEN = 12;
/** StaticBox overhead (counter 8 + tag 16); repeated here so wire/ needs no crypto import. */
export const DISCO_SEAL_OVERHEAD = 24;
/** Size of a PING without padding: header, sealed txid. */
export const DISCO_PING_MIN_SIZE = DISCO_HEADER_LEN + DISCO_SEAL_OVERHEAD + DISCO_TXID_LEN;
/** Largest padded PING we build: a UDP payload that fits an IPv4 datagram. */
export const DISCO_MAX_PACKET = 65_507;

export interface DiscoPing {
  type: "ping";
  txid: Buffer;
  /** Padding bytes after the txid (0 for an ordinary probe). */
  padding: number;
}

export interface DiscoPong {
  type: "pong";
  txid: Buffer;
  /** The source address the pinged side saw the ping come from: our public mapping towards it. */
  observed: Endpoint;
}

export type DiscoMessage = DiscoPing | DiscoPong;

/** The seal/open half of StaticBox this codec needs. */
export interface DiscoBox {
  seal(ad: Uint8Array, plaintext: Uint8Array): Buffer;
  open(ad: Uint8Array, sealed: Uint8Array): Buffer | null;
}

export function isDiscoType(type: number): boolean {
  return type === DISCO_PING || type === DISCO_PONG;
}

/**
 * Encodes a message body. Throws only on programming errors (wrong txid length, bad endpoint),
 * never on anything a peer controls.
 */
export function encodeDiscoBody(msg: DiscoMessage): Buffer {
  if (msg.txid.length !== DISCO_TXID_LEN) throw new RangeError(`disco txid must be ${DISCO_TXID_LEN} bytes`);
  const w = new Writer().bytes(msg.txid);
  if (msg.type === "ping") {
    if (msg.padding > 0) w.bytes(Buffer.alloc(msg.padding));
  } else {
    w.endpoint(msg.observed);
  }
  return w.finish();
}

/** Decodes a body for the given type byte; null when it is malformed. */
export function decodeDiscoBody(type: number, body: Buffer): DiscoMessage | null {
  const r = new Reader(body);
  const txid = Buffer.from(r.bytes(DISCO_TXID_LEN));
  if (type === DISCO_PING) {
    // Padding is ignored rather than required to be zero: it carries nothing and is authenticated.
    const padding = r.rest().length;
    return r.ok() ? { type: "ping", txid, padding } : null;
  }
  if (type === DISCO_PONG) {
    const observed = r.endpoint();
    return r.ok() ? { type: "pong", txid, observed } : null;
  }
  return null;
}

/**
 * Builds a sealed packet. For a PING, `padTo` asks for a total datagram size (for path MTU
 * checks); it is clamped to [unpadded size, DISCO_MAX_PACKET].
 */
export function sealDisco(box: DiscoBox, senderPublic: Uint8Array, msg: DiscoMessage, padTo = 0): Buffer {
  if (senderPublic.length !== DISCO_KEY_LEN) throw new RangeError("disco sender key must be 32 bytes");
  let m = msg;
  if (msg.type === "ping" && padTo > DISCO_PING_MIN_SIZE) {
    m = { ...msg, padding: Math.min(padTo, DISCO_MAX_PACKET) - DISCO_PING_MIN_SIZE };
  }
  const header = Buffer.alloc(DISCO_HEADER_LEN);
  header[0] = m.type === "ping" ? DISCO_PING : DISCO_PONG;
  Buffer.from(senderPublic).copy(header, 1);
  return Buffer.concat([header, box.seal(header, encodeDiscoBody(m))]);
}

export interface DiscoHeader {
  type: number;
  senderPublic: Buffer;
}

/** Reads the clear header so the caller can pick the sender's box; null if it is not disco. */
export function peekDisco(packet: Buffer): DiscoHeader | null {
  if (packet.length < DISCO_HEADER_LEN + DISCO_SEAL_OVERHEAD || !isDiscoType(packet[0])) return null;
  return { type: packet[0], senderPublic: packet.subarray(1, DISCO_HEADER_LEN) };
}

/** Authenticates and decodes; null when the packet is not disco, forged, replayed or malformed. */
export function openDisco(box: DiscoBox, packet: Buffer): DiscoMessage | null {
  const head = peekDisco(packet);
  if (!head) return null;
  const body = box.open(packet.subarray(0, DISCO_HEADER_LEN), packet.subarray(DISCO_HEADER_LEN));
  return body ? decodeDiscoBody(head.type, body) : null;
}
