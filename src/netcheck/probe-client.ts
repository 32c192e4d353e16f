/**
 * The netcheck client's packets for one introducer, sans I/O: seals PROBEs and opens PROBEDs.
 * One instance per introducer, shared by all sockets and the TCP connection (one counter, so no
 * AEAD nonce is ever reused).
 */
import { StaticBox } from "../crypto/box.js";
import { publicKeyOf } from "../crypto/primitives.js";
import { parseIntroducerPacket } from "../wire/introducer.js";
import {
  decodeProbed,
  encodeProbe,
  NETCHECK_BOX_LABEL,
  NetcheckPacketType,
  type ProbedMsg,
  sealNetcheck,
} from "./wire.js";

export class NetcheckProbeClient {
  private readonly box: StaticBox;
  private readonly publicKey: Buffer;

  constructor(
    privateKey: Buffer,
    private readonly introducerPublicKey: Buffer,
    wallClockMs: number,
  ) {
    this.publicKey = publicKeyOf(privateKey);
    this.box = new StaticBox(
      privateKey,
      this.publicKey,
      introducerPublicKey,
      NETCHECK_BOX_LABEL,
      wallClockMs,
    );
  }

  probe(txid: number): Buffer {
    return sealNetcheck(this.box, this.publicKey, NetcheckPacketType.PROBE, encodeProbe(txid));
  }

  /** The answer in `packet`, or null unless it is a PROBED sealed by the pinned introducer key. */
  open(packet: Buffer): ProbedMsg | null {
    const header = parseIntroducerPacket(packet);
    if (header === null || header.type !== NetcheckPacketType.PROBED) return null;
    if (!header.senderKey.equals(this.introducerPublicKey)) return null;
    const plain = this.box.open(header.ad, header.sealed);
    return plain === null ? null : decodeProbed(plain);
  }
}
