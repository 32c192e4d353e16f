/**
 * StaticBox: authenticated encryption between two parties who know each other's static X25519
 * keys, without a handshake. Used for introducer messages and peer path probes ("disco", as
 * Tailscale calls them), which must work before any session exists and from any source address.
 *
 * Keys: K = HKDF(BLAKE2s("p2ptun box v1" || label), DH(s_a, s_b)) split into one key per
 * direction (the direction is fixed by comparing the two public keys), so both sides may use
 * counters from 0 independently. Each packet carries a 64-bit counter used as the AEAD nonce;
 * receivers run a ReplayWindow per sender. Counters start at the sender's wall clock in
 * microseconds so that a restarted sender is not mistaken for a replayer.
 *
 * Sealed layout: [counter u64 LE][ciphertext || tag]; the caller's header (type, sender key) is AD.
 */
import { aeadOpen, aeadSeal, blake2s, dh, hkdf, TAGLEN } from "./primitives.js";
import { ReplayWindow } from "./replay.js";

export const BOX_OVERHEAD = 8 + TAGLEN;

export class StaticBox {
  private readonly sendKey: Buffer;
  private readonly recvKey: Buffer;
  private sendCounter: bigint;
  private readonly window = new ReplayWindow(1024);

  /** Throws on a low-order peer key; callers validate peer keys at config time. */
  constructor(ourPrivate: Buffer, ourPublic: Buffer, theirPublic: Buffer, label: string, nowMs = Date.now()) {
    const shared = dh(ourPrivate, theirPublic);
    const [k1, k2] = hkdf(blake2s(Buffer.from(`p2ptun box v1 ${label}`)), shared, 2);
    const weAreLow = Buffer.compare(ourPublic, theirPublic) < 0;
    this.sendKey = weAreLow ? k1 : k2;
    this.recvKey = weAreLow ? k2 : k1;
    this.sendCounter = BigInt(Math.floor(nowMs)) * 1000n;
  }

  seal(ad: Uint8Array, plaintext: Uint8Array): Buffer {
    const counter = this.sendCounter++;
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(counter);
    return Buffer.concat([head, aeadSeal(this.sendKey, counter, ad, plaintext)]);
  }

  /** Returns the plaintext, or null when the packet is forged, corrupt or replayed. */
  open(ad: Uint8Array, sealed: Uint8Array): Buffer | null {
    if (sealed.length < BOX_OVERHEAD) return null;
    const counter = Buffer.from(sealed.buffer, sealed.byteOffset, 8).readBigUInt64LE();
    if (!this.window.check(counter)) return null;
    const plain = aeadOpen(this.recvKey, counter, ad, sealed.subarray(8));
    if (plain === null) return null;
    this.window.commit(counter);
    return plain;
  }
}
