/**
 * Noise HandshakeState (spec §5.3) for DH 25519 and ChaChaPoly with any hash in hash.ts.
 *
 * `writeMessage` throws only for misuse (wrong turn, missing keys); `readMessage` never throws on
 * network input: it returns null and sets `failure`, after which the state must be discarded.
 * Ephemeral keys can be injected (test vectors); otherwise they are generated when needed.
 * `acceptRemoteStatic` lets the caller refuse an unknown static key the moment it is decrypted,
 * before any further DH work (the session refuses unpinned peers this way).
 */
import { DHLEN, type KeyPair, publicKeyOf, TAGLEN } from "../primitives.js";
import { BLAKE2s, type NoiseHash } from "./hash.js";
import type { HandshakePattern } from "./patterns.js";
import { SymmetricState } from "./symmetric-state.js";
import { generateX25519, x25519 } from "./x25519.js";

export interface HandshakeOptions {
  pattern: HandshakePattern;
  initiator: boolean;
  prologue: Uint8Array;
  hash?: NoiseHash;
  /** Our static key pair, when the pattern sends or uses one. */
  s?: KeyPair;
  /** Our ephemeral key pair; generated on demand when absent. */
  e?: KeyPair;
  /** The peer's static public key, when known beforehand (IK initiator). */
  rs?: Buffer;
  /** Pre-shared keys consumed in order by `psk` tokens. */
  psks?: Buffer[];
  /**
   * Called with the peer's static key as soon as it is learned; false aborts the read. Returning
   * a Buffer accepts and substitutes it (equal bytes, e.g. the pinned copy whose DH key object is
   * already cached).
   */
  acceptRemoteStatic?: (rs: Buffer) => boolean | Buffer;
}

export type HandshakeFailure = "length" | "decrypt" | "dh" | "unknownKey";

export function keyPairFromPrivate(privateKey: Buffer): KeyPair {
  return { privateKey, publicKey: publicKeyOf(privateKey) };
}

export class HandshakeState {
  readonly initiator: boolean;
  ss: SymmetricState;
  s: KeyPair | undefined;
  e: KeyPair | undefined;
  rs: Buffer | undefined;
  re: Buffer | undefined;
  failure: HandshakeFailure | undefined;
  private readonly pattern: HandshakePattern;
  private psks: Buffer[];
  private readonly psk: boolean;
  private readonly acceptRemoteStatic: ((rs: Buffer) => boolean | Buffer) | undefined;
  private messageIndex = 0;

  constructor(opts: HandshakeOptions) {
    const hash = opts.hash ?? BLAKE2s;
    this.pattern = opts.pattern;
    this.initiator = opts.initiator;
    this.s = opts.s;
    this.e = opts.e;
    this.rs = opts.rs;
    this.psks = opts.psks ? [...opts.psks] : [];
    this.psk = opts.pattern.messages.some((m) => m.includes("psk"));
    this.acceptRemoteStatic = opts.acceptRemoteStatic;
    this.ss = new SymmetricState(hash, `Noise_${opts.pattern.name}_25519_ChaChaPoly_${hash.name}`);
    this.ss.mixHash(opts.prologue);
    // Pre-messages are hashed initiator's first, each side's keys as seen by both.
    for (const t of opts.pattern.initiatorPre) this.ss.mixHash(this.preKey(t, this.initiator));
    for (const t of opts.pattern.responderPre) this.ss.mixHash(this.preKey(t, !this.initiator));
  }

  /**
   * A copy to try an untrusted message on: a forged reply must not spoil the state for the
   * genuine one that may follow (readMessage mutates the state before it knows the outcome).
   */
  clone(): HandshakeState {
    const c: HandshakeState = Object.create(HandshakeState.prototype);
    Object.assign(c, this);
    c.ss = this.ss.clone();
    c.psks = [...this.psks];
    return c;
  }

  get handshakeHash(): Buffer {
    return this.ss.h;
  }

  isComplete(): boolean {
    return this.messageIndex >= this.pattern.messages.length;
  }

  /** Whether the next message is ours to write. */
  isMyTurn(): boolean {
    return !this.isComplete() && this.messageIndex % 2 === (this.initiator ? 0 : 1);
  }

  writeMessage(payload: Uint8Array = Buffer.alloc(0)): Buffer {
    if (!this.isMyTurn()) throw new Error("Noise: not our turn to write");
    const out: Buffer[] = [];
    for (const token of this.pattern.messages[this.messageIndex]) {
      switch (token) {
        case "e":
          this.e ??= generateX25519();
          out.push(this.e.publicKey);
          this.ss.mixHash(this.e.publicKey);
          if (this.psk) this.ss.mixKey(this.e.publicKey);
          break;
        case "s":
          if (!this.s) throw new Error("Noise: pattern needs our static key");
          out.push(this.ss.encryptAndHash(this.s.publicKey));
          break;
        case "psk":
          this.ss.mixKeyAndHash(this.nextPsk());
          break;
        default:
          this.ss.mixKey(this.dhToken(token));
      }
    }
    out.push(this.ss.encryptAndHash(payload));
    this.messageIndex++;
    return Buffer.concat(out);
  }

  /** Returns the payload, or null (and sets `failure`) if the message is not acceptable. */
  readMessage(message: Buffer): Buffer | null {
    if (this.failure || this.isComplete() || this.isMyTurn()) return this.fail("length");
    let pos = 0;
    for (const token of this.pattern.messages[this.messageIndex]) {
      if (token === "e") {
        if (message.length - pos < DHLEN) return this.fail("length");
        this.re = Buffer.from(message.subarray(pos, pos + DHLEN));
        pos += DHLEN;
        this.ss.mixHash(this.re);
        if (this.psk) this.ss.mixKey(this.re);
      } else if (token === "s") {
        const len = DHLEN + (this.ss.cipher.hasKey() ? TAGLEN : 0);
        if (message.length - pos < len) return this.fail("length");
        const rs = this.ss.decryptAndHash(message.subarray(pos, pos + len));
        pos += len;
        if (rs === null) return this.fail("decrypt");
        const accepted = this.acceptRemoteStatic ? this.acceptRemoteStatic(rs) : true;
        if (accepted === false) return this.fail("unknownKey");
        this.rs = accepted === true || !accepted.equals(rs) ? rs : accepted;
      } else if (token === "psk") {
        this.ss.mixKeyAndHash(this.nextPsk());
      } else {
        let shared: Buffer;
        try {
          shared = this.dhToken(token);
        } catch {
          return this.fail("dh"); // low-order point: OpenSSL refuses the all-zero result
        }
        this.ss.mixKey(shared);
      }
    }
    if (this.ss.cipher.hasKey() && message.length - pos < TAGLEN) return this.fail("length");
    const payload = this.ss.decryptAndHash(message.subarray(pos));
    if (payload === null) return this.fail("decrypt");
    this.messageIndex++;
    return payload;
  }

  /** Transport keys once complete: [initiator→responder, responder→initiator]. */
  split(): [Buffer, Buffer] {
    if (!this.isComplete()) throw new Error("Noise: handshake not complete");
    return this.ss.split();
  }

  private fail(reason: HandshakeFailure): null {
    this.failure ??= reason;
    return null;
  }

  private nextPsk(): Buffer {
    const psk = this.psks.shift();
    if (psk?.length !== 32) throw new Error("Noise: pattern needs a 32-byte pre-shared key");
    return psk;
  }

  private preKey(token: "e" | "s", ours: boolean): Buffer {
    const key = token === "s" ? (ours ? this.s?.publicKey : this.rs) : ours ? this.e?.publicKey : this.re;
    if (!key) throw new Error(`Noise: pattern needs pre-message key ${token}`);
    return key;
  }

  /** ee/es/se/ss: the first letter is the initiator's key, the second the responder's. */
  private dhToken(token: "ee" | "es" | "se" | "ss"): Buffer {
    const initiatorKey = token[0];
    const responderKey = token[1];
    const mine = this.initiator ? initiatorKey : responderKey;
    const theirs = this.initiator ? responderKey : initiatorKey;
    const priv = mine === "e" ? this.e?.privateKey : this.s?.privateKey;
    const pub = theirs === "e" ? this.re : this.rs;
    if (!priv || !pub) throw new Error(`Noise: missing key for ${token}`);
    return x25519(priv, pub);
  }
}
