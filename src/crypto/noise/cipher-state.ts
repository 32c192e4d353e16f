/**
 * Noise CipherState (spec §5.1) for ChaChaPoly: a key and a 64-bit nonce counter. Used during
 * the handshake and by the vector tests; the session's hot path uses transport-cipher.ts instead,
 * which has the same output without per-call allocations beyond the ciphertext.
 */
import { aeadOpen, aeadSeal } from "../primitives.js";

const MAX_NONCE = 2n ** 64n - 1n;
const ZEROS32 = Buffer.alloc(32);

export class CipherState {
  /** Next nonce. A JS number is exact far beyond any count one session can reach. */
  n = 0;

  constructor(public k: Buffer | null = null) {}

  clone(): CipherState {
    const c = new CipherState(this.k);
    c.n = this.n;
    return c;
  }

  hasKey(): boolean {
    return this.k !== null;
  }

  initializeKey(k: Buffer | null): void {
    this.k = k;
    this.n = 0;
  }

  /** Returns the plaintext unchanged while there is no key, as Noise specifies. */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Buffer {
    if (this.k === null) return Buffer.from(plaintext);
    this.checkNonce();
    return aeadSeal(this.k, this.n++, ad, plaintext);
  }

  /** Returns null when authentication fails; the nonce only advances on success. */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Buffer | null {
    if (this.k === null) return Buffer.from(ciphertext);
    this.checkNonce();
    const plain = aeadOpen(this.k, this.n, ad, ciphertext);
    if (plain !== null) this.n++;
    return plain;
  }

  /** Noise REKEY(k): the first 32 bytes of encrypting zeros with nonce 2^64-1. */
  rekey(): void {
    if (this.k === null) return;
    this.k = aeadSeal(this.k, MAX_NONCE, Buffer.alloc(0), ZEROS32).subarray(0, 32);
  }

  private checkNonce(): void {
    if (this.n >= Number.MAX_SAFE_INTEGER) throw new RangeError("Noise nonce exhausted");
  }
}
