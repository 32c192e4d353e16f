/**
 * Noise SymmetricState (spec §5.2): the chaining key, the handshake hash and a CipherState.
 * Cipher keys are always 32 bytes; with a 64-byte hash the HKDF outputs are truncated.
 */
import { CipherState } from "./cipher-state.js";
import type { NoiseHash } from "./hash.js";

const KEYLEN = 32;

export class SymmetricState {
  ck: Buffer;
  h: Buffer;
  cipher = new CipherState();

  constructor(
    readonly hash: NoiseHash,
    protocolName: string,
  ) {
    const name = Buffer.from(protocolName, "ascii");
    if (name.length <= hash.hashLen) {
      this.h = Buffer.alloc(hash.hashLen);
      name.copy(this.h);
    } else {
      this.h = hash.hash(name);
    }
    this.ck = this.h;
  }

  /** A copy that can be advanced without touching this one (buffers are never mutated in place). */
  clone(): SymmetricState {
    const c: SymmetricState = Object.create(SymmetricState.prototype);
    Object.assign(c, this);
    c.cipher = this.cipher.clone();
    return c;
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, tempK] = this.hash.hkdf(this.ck, ikm, 2);
    this.ck = ck;
    this.cipher.initializeKey(tempK.subarray(0, KEYLEN));
  }

  mixHash(data: Uint8Array): void {
    this.h = this.hash.hash(this.h, data);
  }

  /** For pre-shared keys (the `psk` token). */
  mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, tempH, tempK] = this.hash.hkdf(this.ck, ikm, 3);
    this.ck = ck;
    this.mixHash(tempH);
    this.cipher.initializeKey(tempK.subarray(0, KEYLEN));
  }

  encryptAndHash(plaintext: Uint8Array): Buffer {
    const c = this.cipher.encryptWithAd(this.h, plaintext);
    this.mixHash(c);
    return c;
  }

  /** Returns null when authentication fails. */
  decryptAndHash(ciphertext: Uint8Array): Buffer | null {
    const p = this.cipher.decryptWithAd(this.h, ciphertext);
    if (p === null) return null;
    this.mixHash(ciphertext);
    return p;
  }

  /** The two transport keys: the first encrypts initiator→responder, the second the reverse. */
  split(): [Buffer, Buffer] {
    const [k1, k2] = this.hash.hkdf(this.ck, Buffer.alloc(0), 2);
    return [k1.subarray(0, KEYLEN), k2.subarray(0, KEYLEN)];
  }
}
