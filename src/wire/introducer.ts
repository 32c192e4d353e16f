/**
 * Introducer messages (packet types 0x01–0x0f): plaintext codecs and the outer packet framing.
 *
 * Packet: [type u8][sender public key 32][StaticBox sealed plaintext], AD = the first 33 bytes.
 * The sender key is the daemon's key (daemon → introducer) or the introducer's (introducer →
 * daemon), so a receiver knows which StaticBox to open with before it decrypts anything.
 * Decoders are total: any input gives a message or null, never an exception (fuzzed in
 * test/unit/introducer-wire.test.ts). docs/PROTOCOL.md describes the same layout in prose.
 */
import { BOX_OVERHEAD, type StaticBox } from "../crypto/box.js";
import type { Endpoint } from "../util/addr.js";
import { type Candidate, readCandidate, writeCandidate } from "./candidate.js";
import { Reader, Writer } from "./reader.js";

export const IntroducerPacketType = {
  REGISTER: 0x01,
  REGISTERED: 0x02,
  INTRODUCE: 0x03,
  INTRODUCTION: 0x04,
  INTRODUCTION_ACK: 0x05,
  REFUSED: 0x06,
} as const;
export type IntroducerPacketType = (typeof IntroducerPacketType)[keyof typeof IntroducerPacketType];

/** True for the first byte of an introducer packet: how a daemon's UDP socket routes them. */
export function isIntroducerPacketType(firstByte: number): boolean {
  return firstByte >= 0x01 && firstByte <= 0x0f;
}

export const KEY_LEN = 32;
export const HEADER_LEN = 1 + KEY_LEN;
/** The smallest packet that can possibly authenticate: header plus an empty sealed plaintext. */
export const MIN_PACKET_LEN = HEADER_LEN + BOX_OVERHEAD;
/** Introducer packets are small; anything longer is not ours (also bounds the TCP framing). */
export const MAX_PACKET_LEN = 1400;
/** A daemon reports at most this many LAN addresses. */
export const MAX_LAN_CANDIDATES = 16;
/** LAN candidates plus the observed UDP and TCP endpoints. */
export const MAX_INTRO_CANDIDATES = MAX_LAN_CANDIDATES + 2;
export const MAX_NAME_BYTES = 64;
/** Refusal reasons are cut to this many bytes (at a character boundary) when encoded. */
export const MAX_REASON_BYTES = 200;
const RTT_UNKNOWN = 0xffff;

/** Why the introducer refused a request. The wire carries the index; unknown indexes read as OTHER. */
export const REFUSAL_CODES = [
  "OTHER",
  "NAME_MISMATCH", // REGISTER: this key is configured under another name
  "PEER_UNKNOWN", // INTRODUCE: no peer of that name in the introducer's config
  "PEER_NOT_REGISTERED", // INTRODUCE: the peer is configured but not registered right now
  "NOT_ACCEPTED", // INTRODUCE: the peer declined (its own peers list does not include us)
  "PEER_UNREACHABLE", // INTRODUCE: the peer never acknowledged the introduction
  "NOT_REGISTERED", // INTRODUCE: the requester must register first
  "SELF", // INTRODUCE: asked to be introduced to itself
  "BUSY", // INTRODUCE: too many introductions in progress
  "VERSION", // REGISTER: the daemon speaks another version of this protocol
] as const;
/**
 * The version of the daemon ↔ introducer protocol, carried in every REGISTER right after its
 * txid (that prefix stays put in every version), so that an introducer can refuse a daemon of
 * another version with a reason instead of dropping its packets as malformed.
 * 2: INTRODUCTION and INTRODUCTION_ACK carry `timing`.
 */
export const INTRODUCER_PROTOCOL_VERSION = 2;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

export interface RegisterMsg {
  type: "register";
  txid: number;
  /** Set only when decoding a REGISTER of another protocol version: then nothing else was read
   * (its layout may differ) and the answer is a VERSION refusal. Encoding writes it when set
   * (tests), else INTRODUCER_PROTOCOL_VERSION. */
  version?: number;
  name: string;
  /** The daemon's LAN addresses with its UDP port; kind is always `host`. */
  lanCandidates: Candidate[];
  /** Local port of the daemon's TCP connection to the introducer, when it registers over TCP. */
  tcpLocalPort?: number;
  /** The daemon's last measured round-trip time to this introducer. */
  rttMs?: number;
}
export interface RegisteredMsg {
  type: "registered";
  txid: number;
  /** The source endpoint the introducer saw for this transport (the NAT's public mapping). */
  observed: Endpoint;
  refreshSeconds: number;
}
export interface IntroduceMsg {
  type: "introduce";
  txid: number;
  peerName: string;
}
export interface IntroductionMsg {
  type: "introduction";
  /** The txid of the INTRODUCE this answers; 0 when the other peer asked (we are the target). */
  txid: number;
  introId: number;
  peerName: string;
  peerPublicKey: Buffer;
  candidates: Candidate[];
  /** Start punching this many ms after receipt; both peers then start at the same instant. */
  startInMs: number;
  /** Which start instant this copy carries: the introducer counts (mod 256) each time it moves
   * the instant, so the target's ACK can say which one it follows. */
  timing: number;
}
export interface IntroductionAckMsg {
  type: "introductionAck";
  introId: number;
  accepted: boolean;
  /** The `timing` of the latest start instant the sender follows (0 from a requester). */
  timing: number;
}
export interface RefusedMsg {
  type: "refused";
  txid: number;
  code: RefusalCode;
  reason: string;
}
export type IntroducerMessage =
  | RegisterMsg
  | RegisteredMsg
  | IntroduceMsg
  | IntroductionMsg
  | IntroductionAckMsg
  | RefusedMsg;

const TYPE_OF: Record<IntroducerMessage["type"], IntroducerPacketType> = {
  register: IntroducerPacketType.REGISTER,
  registered: IntroducerPacketType.REGISTERED,
  introduce: IntroducerPacketType.INTRODUCE,
  introduction: IntroducerPacketType.INTRODUCTION,
  introductionAck: IntroducerPacketType.INTRODUCTION_ACK,
  refused: IntroducerPacketType.REFUSED,
};

export function packetTypeOf(msg: IntroducerMessage): IntroducerPacketType {
  return TYPE_OF[msg.type];
}

/** Encodes a message's plaintext. Throws only on programming errors (e.g. a name over 255 bytes). */
export function encodeIntroducerMessage(msg: IntroducerMessage): Buffer {
  const w = new Writer();
  switch (msg.type) {
    case "register":
      w.u32(msg.txid)
        .u8(msg.version ?? INTRODUCER_PROTOCOL_VERSION)
        .str8(msg.name);
      w.u16(msg.rttMs === undefined ? RTT_UNKNOWN : Math.min(Math.round(msg.rttMs), RTT_UNKNOWN - 1));
      w.u16(msg.tcpLocalPort ?? 0);
      writeCandidates(w, msg.lanCandidates);
      break;
    case "registered":
      w.u32(msg.txid).endpoint(msg.observed).u16(msg.refreshSeconds);
      break;
    case "introduce":
      w.u32(msg.txid).str8(msg.peerName);
      break;
    case "introduction":
      w.u32(msg.txid).u32(msg.introId).str8(msg.peerName).bytes(msg.peerPublicKey);
      w.u16(Math.max(0, Math.min(0xffff, Math.round(msg.startInMs)))).u8(msg.timing & 0xff);
      writeCandidates(w, msg.candidates);
      break;
    case "introductionAck":
      w.u32(msg.introId)
        .u8(msg.accepted ? 1 : 0)
        .u8(msg.timing & 0xff);
      break;
    case "refused":
      w.u32(msg.txid).u8(REFUSAL_CODES.indexOf(msg.code)).str8(truncateUtf8(msg.reason, MAX_REASON_BYTES));
      break;
  }
  return w.finish();
}

/** Decodes the plaintext of a packet of type `type`; null when it is not a well-formed message. */
export function decodeIntroducerMessage(type: number, body: Buffer): IntroducerMessage | null {
  const r = new Reader(body);
  let msg: IntroducerMessage | null = null;
  switch (type) {
    case IntroducerPacketType.REGISTER: {
      const txid = r.u32();
      const version = r.u8();
      if (r.bad) return null;
      if (version !== INTRODUCER_PROTOCOL_VERSION)
        return { type: "register", txid, version, name: "", lanCandidates: [] };
      const name = readName(r);
      const rtt = r.u16();
      const tcpPort = r.u16();
      const lanCandidates = readCandidates(r, MAX_LAN_CANDIDATES);
      if (name === null || lanCandidates === null) return null;
      if (lanCandidates.some((c) => c.kind !== "host")) return null;
      msg = { type: "register", txid, name, lanCandidates };
      if (rtt !== RTT_UNKNOWN) msg.rttMs = rtt;
      if (tcpPort !== 0) msg.tcpLocalPort = tcpPort;
      break;
    }
    case IntroducerPacketType.REGISTERED:
      msg = { type: "registered", txid: r.u32(), observed: r.endpoint(), refreshSeconds: r.u16() };
      if (msg.refreshSeconds === 0) return null;
      break;
    case IntroducerPacketType.INTRODUCE: {
      const txid = r.u32();
      const peerName = readName(r);
      if (peerName === null) return null;
      msg = { type: "introduce", txid, peerName };
      break;
    }
    case IntroducerPacketType.INTRODUCTION: {
      const txid = r.u32();
      const introId = r.u32();
      const peerName = readName(r);
      const peerPublicKey = Buffer.from(r.bytes(KEY_LEN));
      const startInMs = r.u16();
      const timing = r.u8();
      const candidates = readCandidates(r, MAX_INTRO_CANDIDATES);
      if (peerName === null || candidates === null) return null;
      msg = { type: "introduction", txid, introId, peerName, peerPublicKey, candidates, startInMs, timing };
      break;
    }
    case IntroducerPacketType.INTRODUCTION_ACK: {
      const introId = r.u32();
      const verdict = r.u8();
      const timing = r.u8();
      if (verdict > 1) return null;
      msg = { type: "introductionAck", introId, accepted: verdict === 1, timing };
      break;
    }
    case IntroducerPacketType.REFUSED: {
      const txid = r.u32();
      const code = REFUSAL_CODES[r.u8()] ?? "OTHER";
      const reason = r.str8();
      msg = { type: "refused", txid, code, reason };
      break;
    }
    default:
      return null;
  }
  return r.ok() ? msg : null;
}

function readName(r: Reader): string | null {
  const name = r.str8();
  if (r.bad || name.length === 0 || Buffer.byteLength(name) > MAX_NAME_BYTES) return null;
  return name;
}

function writeCandidates(w: Writer, list: Candidate[]): void {
  w.u8(list.length);
  for (const c of list) writeCandidate(w, c);
}

function readCandidates(r: Reader, max: number): Candidate[] | null {
  const n = r.u8();
  if (n > max) return null;
  const out: Candidate[] = [];
  for (let i = 0; i < n; i++) {
    const c = readCandidate(r);
    if (c === null) return null;
    out.push(c);
  }
  return out;
}

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character. */
export function truncateUtf8(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = "";
  let used = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch);
    if (used + n > max) break;
    out += ch;
    used += n;
  }
  return out;
}

// ---- outer packet ----------------------------------------------------------------------------

export interface IntroducerPacketHeader {
  type: number;
  senderKey: Buffer;
  /** The first 33 bytes, the AEAD's associated data. */
  ad: Buffer;
  sealed: Buffer;
}

/** Splits a packet into header and sealed part; null when it is too short or too long to be one. */
export function parseIntroducerPacket(packet: Buffer): IntroducerPacketHeader | null {
  if (packet.length < MIN_PACKET_LEN || packet.length > MAX_PACKET_LEN) return null;
  const type = packet[0];
  if (!isIntroducerPacketType(type)) return null;
  return {
    type,
    senderKey: packet.subarray(1, HEADER_LEN),
    ad: packet.subarray(0, HEADER_LEN),
    sealed: packet.subarray(HEADER_LEN),
  };
}

/** Seals `msg` from the holder of `senderPublicKey` with `box` into a complete packet. */
export function sealIntroducerPacket(
  box: StaticBox,
  senderPublicKey: Buffer,
  msg: IntroducerMessage,
): Buffer {
  const ad = Buffer.alloc(HEADER_LEN);
  ad[0] = packetTypeOf(msg);
  Buffer.from(senderPublicKey).copy(ad, 1);
  return Buffer.concat([ad, box.seal(ad, encodeIntroducerMessage(msg))]);
}

/** Reads the StaticBox counter of a sealed part (its first 8 bytes, little-endian). */
export function sealedCounter(header: IntroducerPacketHeader): bigint {
  return header.sealed.readBigUInt64LE(0);
}

export type OpenResult =
  | { ok: true; msg: IntroducerMessage }
  | { ok: false; why: "unauthenticated" | "malformed" };

/** Authenticates and decodes; a packet that authenticates but does not decode is `malformed`. */
export function openIntroducerPacket(box: StaticBox, header: IntroducerPacketHeader): OpenResult {
  const plain = box.open(header.ad, header.sealed);
  if (plain === null) return { ok: false, why: "unauthenticated" };
  const msg = decodeIntroducerMessage(header.type, plain);
  return msg === null ? { ok: false, why: "malformed" } : { ok: true, msg };
}
