/**
 * The cryptographic building blocks of p2ptun, all from Node's OpenSSL-backed `crypto`:
 * X25519, ChaCha20-Poly1305 (IETF, 96-bit nonce) and BLAKE2s-256 with HMAC/HKDF as Noise
 * defines them (Noise spec §4.3: HMAC with the hash's 64-byte block, HKDF with 2 or 3 outputs).
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  type KeyObject,
  randomBytes,
} from "node:crypto";

export const DHLEN = 32;
export const HASHLEN = 32;
export const BLOCKLEN = 64;
export const TAGLEN = 16;

const PKCS8_X25519_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_X25519_PREFIX = Buffer.from("302a300506032b656e032100", "hex");

export interface KeyPair {
  privateKey: Buffer;
  publicKey: Buffer;
}

/**
 * A fresh X25519 private key: 32 random bytes clamped as RFC 7748 §5 decodes a scalar (what
 * OpenSSL's own keygen stores). Keys are made this way, not with generateKeyPairSync + export:
 * Node 20 can deadlock there (see noise/x25519.ts).
 */
export function randomX25519Private(): Buffer {
  const k = randomBytes(32);
  k[0] &= 248;
  k[31] &= 127;
  k[31] |= 64;
  return k;
}

/** A fresh X25519 key pair (see randomX25519Private). */
export function generateKeyPair(): KeyPair {
  const priv = randomX25519Private();
  return { privateKey: priv, publicKey: publicKeyOf(priv) };
}

function privateKeyObject(raw: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, raw]), format: "der", type: "pkcs8" });
}

function publicKeyObject(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_X25519_PREFIX, raw]), format: "der", type: "spki" });
}

export function publicKeyOf(privateKey: Buffer): Buffer {
  const der = createPublicKey(privateKeyObject(privateKey)).export({ format: "der", type: "spki" });
  return Buffer.from(der.subarray(der.length - 32));
}

/**
 * X25519(priv, pub). Throws on a low-order public key (OpenSSL refuses an all-zero result),
 * which callers treat as an authentication failure.
 */
export function dh(privateKey: Buffer, publicKey: Buffer): Buffer {
  return diffieHellman({ privateKey: privateKeyObject(privateKey), publicKey: publicKeyObject(publicKey) });
}

export function blake2s(...parts: Uint8Array[]): Buffer {
  const h = createHash("blake2s256");
  for (const p of parts) h.update(p);
  return h.digest();
}

/** HMAC per RFC 2104 over BLAKE2s (64-byte block), as Noise specifies. */
export function hmacBlake2s(key: Uint8Array, ...data: Uint8Array[]): Buffer {
  const k: Buffer = key.length > BLOCKLEN ? blake2s(key) : Buffer.from(key);
  const block = Buffer.alloc(BLOCKLEN);
  k.copy(block);
  const ipad = Buffer.alloc(BLOCKLEN);
  const opad = Buffer.alloc(BLOCKLEN);
  for (let i = 0; i < BLOCKLEN; i++) {
    ipad[i] = block[i] ^ 0x36;
    opad[i] = block[i] ^ 0x5c;
  }
  return blake2s(opad, blake2s(ipad, ...data));
}

/** Noise HKDF: returns `n` (2 or 3) 32-byte outputs. */
export function hkdf(chainingKey: Uint8Array, ikm: Uint8Array, n: 2 | 3 = 2): Buffer[] {
  const tempKey = hmacBlake2s(chainingKey, ikm);
  const out1 = hmacBlake2s(tempKey, Uint8Array.of(1));
  const out2 = hmacBlake2s(tempKey, out1, Uint8Array.of(2));
  if (n === 2) return [out1, out2];
  return [out1, out2, hmacBlake2s(tempKey, out2, Uint8Array.of(3))];
}

/** Noise's nonce encoding for ChaChaPoly: 4 zero bytes then the 64-bit counter little-endian. */
export function nonceFor(counter: bigint | number): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64LE(BigInt(counter), 4);
  return n;
}

export function aeadSeal(
  key: Uint8Array,
  counter: bigint | number,
  ad: Uint8Array,
  plaintext: Uint8Array,
): Buffer {
  const c = createCipheriv("chacha20-poly1305", key, nonceFor(counter), { authTagLength: TAGLEN });
  c.setAAD(ad, { plaintextLength: plaintext.length });
  const body = c.update(plaintext);
  c.final();
  return Buffer.concat([body, c.getAuthTag()]);
}

/** Returns the plaintext, or `null` when authentication fails (never throws on bad input). */
export function aeadOpen(
  key: Uint8Array,
  counter: bigint | number,
  ad: Uint8Array,
  ciphertext: Uint8Array,
): Buffer | null {
  if (ciphertext.length < TAGLEN) return null;
  try {
    const d = createDecipheriv("chacha20-poly1305", key, nonceFor(counter), { authTagLength: TAGLEN });
    d.setAAD(ad, { plaintextLength: ciphertext.length - TAGLEN });
    d.setAuthTag(ciphertext.subarray(ciphertext.length - TAGLEN));
    const body = d.update(ciphertext.subarray(0, ciphertext.length - TAGLEN));
    d.final();
    return body;
  } catch {
    return null;
  }
}
