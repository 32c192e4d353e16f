/**
 * Property tests of the Noise engine beyond the fixed vectors: for every supported pattern and
 * hash, random prologues and payloads complete a handshake in which both sides agree on the hash
 * and mirrored transport keys; a prologue mismatch or any corrupted message fails it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CipherState } from "../../src/crypto/noise/cipher-state.js";
import { HandshakeState } from "../../src/crypto/noise/handshake-state.js";
import { BLAKE2b, BLAKE2s, SHA256, SHA512 } from "../../src/crypto/noise/hash.js";
import { PATTERNS } from "../../src/crypto/noise/patterns.js";
import { generateX25519 } from "../../src/crypto/noise/x25519.js";

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));

function pairFor(patternName: string, prologues: [Buffer, Buffer], hash = BLAKE2s) {
  const pattern = PATTERNS[patternName];
  const si = generateX25519();
  const sr = generateX25519();
  const psks = [Buffer.alloc(32, 7)];
  const init = new HandshakeState({
    pattern,
    initiator: true,
    prologue: prologues[0],
    hash,
    s: si,
    rs: sr.publicKey,
    psks,
  });
  const resp = new HandshakeState({ pattern, initiator: false, prologue: prologues[1], hash, s: sr, psks });
  return { init, resp, si, sr };
}

describe("Noise handshakes with random inputs", () => {
  for (const name of Object.keys(PATTERNS)) {
    for (const hash of [BLAKE2s, SHA256, BLAKE2b, SHA512]) {
      it(`${name} ${hash.name}: completes and agrees`, () => {
        fc.assert(
          fc.property(
            bytes(40),
            fc.array(bytes(100), { minLength: 3, maxLength: 3 }),
            (prologue, payloads) => {
              const { init, resp, si, sr } = pairFor(name, [prologue, prologue], hash);
              for (let i = 0; !init.isComplete(); i++) {
                const [w, r] = init.isMyTurn() ? [init, resp] : [resp, init];
                expect(r.readMessage(w.writeMessage(payloads[i]))).toEqual(payloads[i]);
              }
              expect(resp.isComplete()).toBe(true);
              expect(init.handshakeHash).toEqual(resp.handshakeHash);
              expect(init.split()).toEqual(resp.split());
              if (init.rs) expect(init.rs).toEqual(sr.publicKey);
              if (resp.rs) expect(resp.rs).toEqual(si.publicKey);
            },
          ),
          { numRuns: 5 },
        );
      });
    }
  }

  it("fails on a prologue mismatch (at the first encrypted payload)", () => {
    const { init, resp } = pairFor("XX", [Buffer.from("a"), Buffer.from("b")]);
    const m1 = init.writeMessage(); // XX message 1 is unencrypted: both accept it
    expect(resp.readMessage(m1)).toEqual(Buffer.alloc(0));
    expect(init.readMessage(resp.writeMessage())).toBeNull();
    expect(init.failure).toBe("decrypt");
  });

  it("fails on any corruption of any IK message", () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean(), (at, x, second) => {
        const { init, resp } = pairFor("IK", [Buffer.alloc(0), Buffer.alloc(0)]);
        let m = init.writeMessage(Buffer.from("ts"));
        if (second) {
          resp.readMessage(m);
          m = resp.writeMessage();
        }
        const bad = Buffer.from(m);
        bad[at % bad.length] ^= x;
        expect((second ? init : resp).readMessage(bad)).toBeNull();
      }),
      { numRuns: 200 },
    );
  });

  it("refuses misuse: writing out of turn, splitting early", () => {
    const { init, resp } = pairFor("IK", [Buffer.alloc(0), Buffer.alloc(0)]);
    expect(() => resp.writeMessage()).toThrow();
    expect(() => init.split()).toThrow();
    expect(resp.readMessage(Buffer.alloc(10))).toBeNull();
  });
});

describe("CipherState", () => {
  it("rekey derives the same new key on both sides and stops old ciphertexts", () => {
    const k = Buffer.alloc(32, 1);
    const a = new CipherState(Buffer.from(k));
    const b = new CipherState(Buffer.from(k));
    const before = a.encryptWithAd(Buffer.alloc(0), Buffer.from("x"));
    a.rekey();
    b.rekey();
    expect(a.k).toEqual(b.k);
    expect(a.k).not.toEqual(k);
    expect(b.decryptWithAd(Buffer.alloc(0), before)).toBeNull();
    b.n = a.n;
    expect(
      b.decryptWithAd(Buffer.alloc(0), a.encryptWithAd(Buffer.alloc(0), Buffer.from("y")))?.toString(),
    ).toBe("y");
  });

  it("passes data through before it has a key and advances the nonce only on success", () => {
    const c = new CipherState();
    expect(c.encryptWithAd(Buffer.alloc(0), Buffer.from("plain")).toString()).toBe("plain");
    const k = new CipherState(Buffer.alloc(32, 2));
    expect(k.decryptWithAd(Buffer.alloc(0), Buffer.alloc(20))).toBeNull();
    expect(k.n).toBe(0);
  });
});
