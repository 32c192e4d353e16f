/**
 * The introducer's side of netcheck, sans I/O: answers an authenticated PROBE with the source
 * endpoint it came from, and does nothing else — no registration, no state but the per-peer
 * `netcheck` box and its replay window. Like the rest of the introducer it answers nothing to a
 * packet that does not authenticate as a configured peer, and its answer is never larger than
 * the question. The caller rate-limits per source IP before calling `handle`.
 */
import { StaticBox } from "../crypto/box.js";
import { ReplayWindow } from "../crypto/replay.js";
import { type Endpoint, normalizeIp } from "../util/addr.js";
import { parseIntroducerPacket, sealedCounter } from "../wire/introducer.js";
import { decodeProbe, encodeProbed, NETCHECK_BOX_LABEL, NetcheckPacketType, sealNetcheck } from "./wire.js";

interface ProbePeer {
  box: StaticBox;
  replay: ReplayWindow;
}

export class NetcheckResponder {
  readonly counters = { probes: 0, answered: 0, malformed: 0, unauthenticated: 0, replayed: 0 };
  private readonly peers = new Map<string, { publicKey: Buffer; state?: ProbePeer }>();

  constructor(
    private readonly privateKey: Buffer,
    private readonly publicKey: Buffer,
    peers: { publicKey: Buffer }[],
    private readonly wallClockMs: number,
  ) {
    for (const p of peers) this.peers.set(p.publicKey.toString("hex"), { publicKey: p.publicKey });
  }

  /** The PROBED packet to send back to `from`, or null (dropped and counted). */
  handle(packet: Buffer, from: Endpoint): Buffer | null {
    this.counters.probes++;
    const header = parseIntroducerPacket(packet);
    if (header === null || header.type !== NetcheckPacketType.PROBE) return this.drop("malformed");
    const entry = this.peers.get(header.senderKey.toString("hex"));
    if (entry === undefined) return this.drop("unauthenticated");
    entry.state ??= {
      box: new StaticBox(
        this.privateKey,
        this.publicKey,
        entry.publicKey,
        NETCHECK_BOX_LABEL,
        this.wallClockMs,
      ),
      replay: new ReplayWindow(1024),
    };
    const { box, replay } = entry.state;
    const counter = sealedCounter(header);
    if (!replay.check(counter)) return this.drop("replayed");
    const plain = box.open(header.ad, header.sealed);
    if (plain === null) return this.drop("unauthenticated");
    replay.commit(counter);
    const txid = decodeProbe(plain);
    if (txid === null) return this.drop("malformed");
    this.counters.answered++;
    const observed = { host: normalizeIp(from.host), port: from.port };
    return sealNetcheck(box, this.publicKey, NetcheckPacketType.PROBED, encodeProbed({ txid, observed }));
  }

  private drop(why: "malformed" | "unauthenticated" | "replayed"): null {
    this.counters[why]++;
    return null;
  }
}
