/**
 * Noise hash functions (spec §4.3), pluggable so the handshake engine can be checked against the
 * published vectors for every hash, while p2ptun itself uses BLAKE2s. HMAC comes from Node's
 * OpenSSL binding, which accepts BLAKE2 digests and pads the key to the digest's block size
 * exactly as RFC 2104 (and therefore Noise) requires.
 */
import { createHash, createHmac } from "node:crypto";

export interface NoiseHash {
  /** The name as it appears in a Noise protocol name, e.g. `BLAKE2s`. */
  readonly name: string;
  readonly hashLen: number;
  hash(...parts: Uint8Array[]): Buffer;
  hmac(key: Uint8Array, ...data: Uint8Array[]): Buffer;
  /** Noise HKDF: two or three `hashLen`-byte outputs. */
  hkdf(chainingKey: Uint8Array, ikm: Uint8Array, outputs: 2 | 3): Buffer[];
}

const ONE = Uint8Array.of(1);
const TWO = Uint8Array.of(2);
const THREE = Uint8Array.of(3);

function nodeHash(name: string, algorithm: string, hashLen: number): NoiseHash {
  const hmac = (key: Uint8Array, ...data: Uint8Array[]): Buffer => {
    const h = createHmac(algorithm, key);
    for (const d of data) h.update(d);
    return h.digest();
  };
  return {
    name,
    hashLen,
    hash(...parts) {
      const h = createHash(algorithm);
      for (const p of parts) h.update(p);
      return h.digest();
    },
    hmac,
    hkdf(chainingKey, ikm, outputs) {
      const temp = hmac(chainingKey, ikm);
      const out1 = hmac(temp, ONE);
      const out2 = hmac(temp, out1, TWO);
      return outputs === 2 ? [out1, out2] : [out1, out2, hmac(temp, out2, THREE)];
    },
  };
}

export const BLAKE2s = nodeHash("BLAKE2s", "blake2s256", 32);
export const BLAKE2b = nodeHash("BLAKE2b", "blake2b512", 64);
export const SHA256 = nodeHash("SHA256", "sha256", 32);
export const SHA512 = nodeHash("SHA512", "sha512", 64);

const BY_NAME = new Map([BLAKE2s, BLAKE2b, SHA256, SHA512].map((h) => [h.name, h]));

export function hashByName(name: string): NoiseHash | undefined {
  return BY_NAME.get(name);
}
