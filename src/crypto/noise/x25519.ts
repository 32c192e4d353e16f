/**
 * X25519 for the handshake, with the key-import cost taken out. primitives.ts rebuilds OpenSSL key
 * objects from DER on every call, and OpenSSL 3's DER decoder costs several times the DH itself
 * (measured: ~2 ms for a PKCS#8 private key vs ~0.15 ms for the DH on a loaded machine). Here:
 * - key objects are cached per Buffer (WeakMap): our static key and pinned peer keys are imported
 *   once, whatever the number of handshakes;
 * - keys are imported through JWK, several times cheaper than DER;
 * - ephemeral keys are generated as key objects and never imported at all.
 * Results are identical to primitives.dh (checked in the vector tests).
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import type { KeyPair } from "../primitives.js";

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

/** A fresh key pair whose private key object is already cached for `x25519`. */
export function generateX25519(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  const jwk = privateKey.export({ format: "jwk" });
  const priv = Buffer.from(jwk.d as string, "base64url");
  const pub = Buffer.from(jwk.x as string, "base64url");
  privateObjects.set(priv, privateKey);
  publicObjects.set(pub, publicKey);
  return { privateKey: priv, publicKey: pub };
}
