/**
 * The hot path of the session: ChaCha20-Poly1305 with Noise's nonce layout (4 zero bytes, then
 * the 64-bit counter little-endian) and empty associated data, exactly like a Noise transport
 * CipherState. Differences from CipherState are all about allocation: the nonce lives in one
 * reusable buffer, the ciphertext and tag are handed out as OpenSSL returns them (the packet is
 * sent as pieces, see Datagram), and no BigInt is involved. A cipher is made apart from its use,
 * so that a keypair can make the next packet's ahead of time.
 */
import {
  type CipherChaCha20Poly1305,
  createCipheriv,
  createDecipheriv,
  type DecipherChaCha20Poly1305,
} from "node:crypto";
import { TAGLEN } from "../primitives.js";

const ALGORITHM = "chacha20-poly1305";
const TAG_OPTIONS = { authTagLength: TAGLEN } as const;
const TWO_POW_32 = 2 ** 32;

/** A reusable 12-byte Noise nonce. OpenSSL copies the IV, so one buffer per direction suffices. */
export class TransportNonce {
  readonly bytes = Buffer.alloc(12);

  /** `counter` must be a safe integer (the session stops far below 2^53). */
  set(counter: number): void {
    this.bytes.writeUInt32LE(counter >>> 0, 4);
    this.bytes.writeUInt32LE(Math.floor(counter / TWO_POW_32), 8);
  }
}

export type SealCipher = CipherChaCha20Poly1305;
export type OpenCipher = DecipherChaCha20Poly1305;

/** A cipher set up for one key and nonce, to be used by exactly one `sealWith`. */
export function sealCipher(key: Buffer, nonce: Buffer): SealCipher {
  return createCipheriv(ALGORITHM, key, nonce, TAG_OPTIONS);
}

/** A decipher set up for one key and nonce, to be used by exactly one `openWith`. */
export function openCipher(key: Buffer, nonce: Buffer): OpenCipher {
  return createDecipheriv(ALGORITHM, key, nonce, TAG_OPTIONS);
}

/**
 * Encrypts `plaintext` with a cipher from `sealCipher` (used up by this call); returns the
 * ciphertext (as long as the plaintext) and the 16-byte tag, which follow each other on the wire.
 * They are OpenSSL's own output buffers: copying them into one packet would double the bytes
 * allocated per packet.
 */
export function sealWith(c: SealCipher, plaintext: Uint8Array): [body: Buffer, tag: Buffer] {
  const body = c.update(plaintext);
  c.final();
  return [body, c.getAuthTag()];
}

/**
 * Decrypts with a decipher from `openCipher` (used up by this call). Returns the plaintext, or
 * null when the ciphertext does not authenticate. Never throws.
 */
export function openWith(d: OpenCipher, ciphertext: Buffer): Buffer | null {
  if (ciphertext.length < TAGLEN) return null;
  const bodyLen = ciphertext.length - TAGLEN;
  try {
    d.setAuthTag(ciphertext.subarray(bodyLen));
    const plain = d.update(ciphertext.subarray(0, bodyLen));
    d.final();
    return plain;
  } catch {
    return null;
  }
}
