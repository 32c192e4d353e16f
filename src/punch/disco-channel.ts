/**
 * The disco probes to and from one peer: builds sealed PINGs with fresh txids and PONGs, and opens
 * packets from that peer. The puncher and the path monitor of a peer share one channel, because
 * they share the StaticBox (one send counter and one replay window per peer).
 */
import { randomBytes } from "node:crypto";
import type { Endpoint } from "../util/addr.js";
import {
  DISCO_TXID_LEN,
  type DiscoBox,
  type DiscoMessage,
  openDisco,
  peekDisco,
  sealDisco,
} from "../wire/disco.js";

export interface DiscoChannelCounters {
  /** Packets that were not disco, came from another key, failed authentication or were malformed. */
  dropped: number;
  pingsSent: number;
  pongsSent: number;
}

export class DiscoChannel {
  readonly counters: DiscoChannelCounters = { dropped: 0, pingsSent: 0, pongsSent: 0 };

  /**
   * @param box a StaticBox (label "disco") between our key and the peer's
   * @param random source of txids; injectable so tests are deterministic
   */
  constructor(
    private readonly box: DiscoBox,
    readonly ourPublic: Buffer,
    readonly theirPublic: Buffer,
    private readonly random: (n: number) => Buffer = randomBytes,
  ) {}

  /** A new PING; `padTo` asks for a total datagram size (path MTU checks). */
  ping(padTo = 0): { txid: Buffer; packet: Buffer } {
    const txid = Buffer.from(this.random(DISCO_TXID_LEN));
    this.counters.pingsSent++;
    return { txid, packet: sealDisco(this.box, this.ourPublic, { type: "ping", txid, padding: 0 }, padTo) };
  }

  /** The answer to a PING from `observed`, to be sent back to that address. */
  pong(txid: Buffer, observed: Endpoint): Buffer {
    this.counters.pongsSent++;
    return sealDisco(this.box, this.ourPublic, { type: "pong", txid, observed });
  }

  /** The message in a packet from this peer, or null (counted) for anything else. */
  open(packet: Buffer): DiscoMessage | null {
    const head = peekDisco(packet);
    const msg = head?.senderPublic.equals(this.theirPublic) ? openDisco(this.box, packet) : null;
    if (!msg) this.counters.dropped++;
    return msg;
  }
}

/** Map key for a txid. */
export function txidKey(txid: Buffer): string {
  return txid.toString("hex");
}
