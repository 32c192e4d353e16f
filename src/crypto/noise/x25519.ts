/**
 * X25519 for the handshake, with the key-import cost taken out. primitives.ts rebuilds OpenSSL key
 * objects from DER on every call, and OpenSSL 3's DER decoder costs several times the DH itself
 * (measured: ~2 ms for a PKCS#8 private key vs ~0.15 ms for the DH on a loaded machine). Here:
 * - key objects are cached per Buffer (WeakMap): our static key and pinned peer keys are imported
 *   once, whatever the number of handshakes;
 * - keys are imported through JWK, several times cheaper than DER;
 * - ephemeral keys are made from random bytes, their public half computed as X25519(k, 9).
 * Results are identical to primitives.dh (checked in the vector tests).
 *
 * Never generateKeyPairSync followed by key.export(): Node 20 can deadlock there. The export
 * holds the key's mutex while it allocates the result; if that allocation runs a garbage
 * collection which frees the (dead) key-generation job of the same key, the job's destructor
 * takes the same mutex, and the process hangs for good. Seen in CI (a test worker stuck in
 * ExportJWKEdKey → GC → ~KeyGenJob → uv_mutex_lock), and reproduced: generateKeyPairSync +
 * export({format: "jwk"}) in a loop with `--max-semi-space-size=1` hangs after ~180 000 keys.
 * Every handshake makes an ephemeral key, so a daemon would have hung after some weeks.
 */
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from "node:crypto";
import { type KeyPair, randomX25519Private } from "../primitives.js";

const privateObjects = new WeakMap<Buffer, KeyObject>();
const publicObjects = new WeakMap<Buffer, KeyObject>();

function privateObject(raw: Buffer): KeyObject {
  let k = privateObjects.get(raw);
  if (!k) {
    // JWK wants `x` too; Node derives the public half from `d`, so any well-formed value does.
    const d = raw.toString("base64url");
    k = createPrivateKey({ key: { kty: "OKP", crv: "X25519", d, x: d }, format: "jwk" });
    privateObjects.set(raw, k);
  }
  return k;
}

function publicObject(raw: Buffer): KeyObject {
  let k = publicObjects.get(raw);
  if (!k) {
    k = createPublicKey({ key: { kty: "OKP", crv: "X25519", x: raw.toString("base64url") }, format: "jwk" });
    publicObjects.set(raw, k);
  }
  return k;
}

/** X25519(priv, pub). Throws on a low-order public key, like primitives.dh. */
export function x25519(privateKey: Buffer, publicKey: Buffer): Buffer {
  if (publicKey.length !== 32) throw new RangeError("X25519 public key must be 32 bytes");
  return diffieHellman({ privateKey: privateObject(privateKey), publicKey: publicObject(publicKey) });
}

/** The X25519 base point, u = 9 (RFC 7748 §4.1): X25519(k, 9) is k's public key. */
const BASE_POINT = Buffer.alloc(32);
BASE_POINT[0] = 9;

/** A fresh key pair whose private key object is already cached for `x25519`. */
export function generateX25519(): KeyPair {
  const priv = randomX25519Private();
  return { privateKey: priv, publicKey: x25519(priv, BASE_POINT) };
}
