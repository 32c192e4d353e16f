/**
 * Byte-exact checks of the Noise engine against the cacophony vectors (read in place from the
 * shared folder). Each vector: run the handshake with the given static and ephemeral keys, compare
 * every handshake message and the handshake hash, then the transport messages that follow, which
 * alternate direction starting with the initiator.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CipherState } from "../../src/crypto/noise/cipher-state.js";
import { HandshakeState, keyPairFromPrivate } from "../../src/crypto/noise/handshake-state.js";
import { hashByName } from "../../src/crypto/noise/hash.js";
import { parseProtocolName } from "../../src/crypto/noise/patterns.js";
import {
  openCipher,
  openWith,
  sealCipher,
  sealWith,
  TransportNonce,
} from "../../src/crypto/noise/transport-cipher.js";

interface Vector {
  protocol_name: string;
  init_prologue: string;
  resp_prologue: string;
  init_static?: string;
  resp_static?: string;
  init_ephemeral: string;
  resp_ephemeral: string;
  init_remote_static?: string;
  init_psks?: string[];
  resp_psks?: string[];
  handshake_hash: string;
  messages: { payload: string; ciphertext: string }[];
}

const path = fileURLToPath(
  new URL("../../../shared/vectors/noise/cacophony-25519-chachapoly.json", import.meta.url),
);
const vectors: Vector[] = JSON.parse(readFileSync(path, "utf8")).vectors;
const hex = (s: string) => Buffer.from(s, "hex");

const REQUIRED = ["Noise_IK_25519_ChaChaPoly_BLAKE2s", "Noise_IK_25519_ChaChaPoly_SHA256"];

describe("Noise engine against cacophony vectors", () => {
  it("has the vectors p2ptun depends on", () => {
    const names = new Set(vectors.map((v) => v.protocol_name));
    for (const n of REQUIRED) expect(names.has(n)).toBe(true);
  });

  const supported = vectors.filter(
    (v) => parseProtocolName(v.protocol_name) && hashByName(v.protocol_name.split("_")[4]),
  );
  it("covers every vector of the patterns and hashes the engine supports (all 20)", () => {
    expect(supported.length).toBe(vectors.length);
  });

  for (const v of supported) {
    it(v.protocol_name, () => {
      const proto = parseProtocolName(v.protocol_name);
      const hash = hashByName(proto?.hash ?? "");
      if (!proto || !hash) throw new Error("unsupported");
      const init = new HandshakeState({
        pattern: proto.pattern,
        initiator: true,
        prologue: hex(v.init_prologue),
        hash,
        s: v.init_static ? keyPairFromPrivate(hex(v.init_static)) : undefined,
        e: keyPairFromPrivate(hex(v.init_ephemeral)),
        rs: v.init_remote_static ? hex(v.init_remote_static) : undefined,
        psks: v.init_psks?.map(hex),
      });
      const resp = new HandshakeState({
        pattern: proto.pattern,
        initiator: false,
        prologue: hex(v.resp_prologue),
        hash,
        s: v.resp_static ? keyPairFromPrivate(hex(v.resp_static)) : undefined,
        e: keyPairFromPrivate(hex(v.resp_ephemeral)),
        psks: v.resp_psks?.map(hex),
      });

      let i = 0;
      for (; !init.isComplete(); i++) {
        const [writer, reader] = init.isMyTurn() ? [init, resp] : [resp, init];
        const msg = writer.writeMessage(hex(v.messages[i].payload));
        expect(msg.toString("hex")).toBe(v.messages[i].ciphertext);
        expect(reader.readMessage(msg)?.toString("hex")).toBe(v.messages[i].payload);
      }
      expect(resp.isComplete()).toBe(true);
      expect(init.handshakeHash.toString("hex")).toBe(v.handshake_hash);
      expect(resp.handshakeHash.toString("hex")).toBe(v.handshake_hash);
      if (init.rs && v.resp_static) expect(init.rs).toEqual(keyPairFromPrivate(hex(v.resp_static)).publicKey);
      if (resp.rs && v.init_static) expect(resp.rs).toEqual(keyPairFromPrivate(hex(v.init_static)).publicKey);

      // Transport: the generic CipherState and the hot-path functions must agree with the vector.
      const [k1, k2] = init.split();
      expect(resp.split()).toEqual([k1, k2]);
      const cs = { i2r: new CipherState(k1), r2i: new CipherState(k2) };
      const n = { i2r: 0, r2i: 0 };
      const nonce = new TransportNonce();
      expect(v.messages.length).toBeGreaterThan(i);
      for (let j = i; j < v.messages.length; j++) {
        const dir = j % 2 === 0 ? "i2r" : "r2i";
        const key = dir === "i2r" ? k1 : k2;
        const payload = hex(v.messages[j].payload);
        const expected = v.messages[j].ciphertext;
        const counter = n[dir]++;
        expect(cs[dir].encryptWithAd(Buffer.alloc(0), payload).toString("hex")).toBe(expected);
        nonce.set(counter);
        const [body, tag] = sealWith(sealCipher(key, nonce.bytes), payload);
        expect(body.length).toBe(payload.length);
        expect(Buffer.concat([body, tag]).toString("hex")).toBe(expected);
        expect(openWith(openCipher(key, nonce.bytes), hex(expected))?.toString("hex")).toBe(
          v.messages[j].payload,
        );
      }
    });
  }
});

describe("Noise engine failure handling", () => {
  const v = vectors.find((x) => x.protocol_name === "Noise_IK_25519_ChaChaPoly_BLAKE2s") as Vector;
  const proto = parseProtocolName(v.protocol_name);
  const responder = (accept?: (rs: Buffer) => boolean) =>
    new HandshakeState({
      pattern: proto?.pattern ?? ({} as never),
      initiator: false,
      prologue: hex(v.resp_prologue),
      s: keyPairFromPrivate(hex(v.resp_static as string)),
      acceptRemoteStatic: accept,
    });
  const msg1 = hex(v.messages[0].ciphertext);

  it("reports an unacceptable static key before decrypting the payload", () => {
    const r = responder(() => false);
    expect(r.readMessage(msg1)).toBeNull();
    expect(r.failure).toBe("unknownKey");
  });

  it("rejects a message with any single flipped bit", () => {
    for (let bit = 0; bit < msg1.length * 8; bit += 7) {
      const m = Buffer.from(msg1);
      m[bit >> 3] ^= 1 << (bit & 7);
      const r = responder();
      expect(r.readMessage(m)).toBeNull();
      expect(r.failure).toBeDefined();
    }
  });

  it("rejects truncated messages", () => {
    for (let len = 0; len < msg1.length; len++) {
      const r = responder();
      expect(r.readMessage(msg1.subarray(0, len))).toBeNull();
    }
  });

  it("refuses a different prologue", () => {
    const r = new HandshakeState({
      pattern: proto?.pattern ?? ({} as never),
      initiator: false,
      prologue: Buffer.from("other"),
      s: keyPairFromPrivate(hex(v.resp_static as string)),
    });
    expect(r.readMessage(msg1)).toBeNull();
    expect(r.failure).toBe("decrypt");
  });
});
