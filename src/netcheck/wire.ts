/**
 * Netcheck probes (introducer packet types 0x07 and 0x08): a daemon key asks an introducer "from
 * which endpoint do you see me?" without registering. docs/PROTOCOL.md describes the same layout.
 *
 * Packet: [type u8][sender public key 32][StaticBox sealed plaintext], AD = the first 33 bytes,
 * like every introducer packet, but sealed with a box of its own (label `netcheck`): its counters
 * and replay window are separate from the `introducer` box, so a netcheck run with the key of a
 * running daemon cannot push the introducer's replay window past the daemon's counter (which
 * would make the introducer drop the daemon's REGISTERs as replays).
 *
 * PROBE plaintext: `[txid u32 nonzero][20 zero bytes]` (24 bytes, padded so that the answer is
 * never larger than the question). PROBED plaintext: `[txid u32][endpoint]` (11 or 23 bytes).
 * Decoders are total: any input gives a message or null (fuzzed in test/unit/netcheck-wire.test.ts).
 */
import type { StaticBox } from "../crypto/box.js";
import type { Endpoint } from "../util/addr.js";
import { Reader, Writer } from "../wire/reader.js";

export const NetcheckPacketType = { PROBE: 0x07, PROBED: 0x08 } as const;
export const NETCHECK_BOX_LABEL = "netcheck";
export const PROBE_PLAINTEXT_LEN = 24;
const HEADER_LEN = 33;

export function encodeProbe(txid: number): Buffer {
  const b = Buffer.alloc(PROBE_PLAINTEXT_LEN);
  b.writeUInt32BE(txid >>> 0);
  return b;
}

/** The txid of a PROBE plaintext, or null. Padding must be zeros (room for later fields). */
export function decodeProbe(plain: Buffer): number | null {
  if (plain.length !== PROBE_PLAINTEXT_LEN) return null;
  const txid = plain.readUInt32BE(0);
  if (txid === 0) return null;
  for (let i = 4; i < plain.length; i++) if (plain[i] !== 0) return null;
  return txid;
}

export interface ProbedMsg {
  txid: number;
  /** The source endpoint the introducer saw the PROBE come from. */
  observed: Endpoint;
}

export function encodeProbed(msg: ProbedMsg): Buffer {
  return new Writer().u32(msg.txid).endpoint(msg.observed).finish();
}

export function decodeProbed(plain: Buffer): ProbedMsg | null {
  const r = new Reader(plain);
  const txid = r.u32();
  const observed = r.endpoint();
  if (!r.ok() || txid === 0) return null;
  return { txid, observed };
}

/** A complete packet of `type` from the holder of `senderPublicKey`. */
export function sealNetcheck(box: StaticBox, senderPublicKey: Buffer, type: number, plain: Buffer): Buffer {
  const ad = Buffer.alloc(HEADER_LEN);
  ad[0] = type;
  Buffer.from(senderPublicKey).copy(ad, 1);
  return Buffer.concat([ad, box.seal(ad, plain)]);
}
