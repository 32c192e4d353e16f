/**
 * One set of transport keys from one completed handshake, with everything the DATA hot path
 * needs: the send counter, a reusable nonce per direction, the replay window, and the times at
 * which it must be renewed or refused. Counters are plain numbers; the only BigInt per received
 * packet is the conversion the shared ReplayWindow takes.
 */
import { DATA_HEADER_LEN, encodeDataHeader } from "../../wire/session.js";
import { ReplayWindow } from "../replay.js";
import {
  type OpenCipher,
  openCipher,
  openWith,
  type SealCipher,
  sealCipher,
  sealWith,
  TransportNonce,
} from "./transport-cipher.js";

export interface KeypairInit {
  localIndex: number;
  remoteIndex: number;
  sendKey: Buffer;
  recvKey: Buffer;
  /** Whether we sent the INIT that produced these keys. */
  initiator: boolean;
  createdAt: number;
  rekeyAt: number;
  expiresAt: number;
  replayWindow: number;
}

export class Keypair<P = unknown> {
  readonly kind = "keypair";
  readonly localIndex: number;
  readonly remoteIndex: number;
  readonly initiator: boolean;
  readonly createdAt: number;
  /** When a time-based rekey is due (tick). */
  readonly rekeyAt: number;
  /** From this instant the keys are refused both ways (REJECT_AFTER). */
  readonly expiresAt: number;
  /** Set when this keypair becomes `previous`: the end of its grace period. */
  retireAt = Number.POSITIVE_INFINITY;
  /** A rekey was started on its behalf; do not start another one if that one fails. */
  rekeyStarted = false;
  /** Last time we sent an empty DATA to prove we hold these keys (see SessionManager.handleData). */
  confirmSentAt = Number.NEGATIVE_INFINITY;
  sendCounter = 0;
  /** The greatest counter received; only packets beyond it may move the peer's endpoint. */
  maxReceived = -1;
  private readonly sendKey: Buffer;
  private readonly recvKey: Buffer;
  private readonly sendNonce = new TransportNonce();
  private readonly recvNonce = new TransportNonce();
  private readonly window: ReplayWindow;
  /** Listed for the next `SessionManager.prepareNext()` (used since the last one). */
  prepareListed = false;
  private wiped = false;
  /**
   * Ciphers made ahead of time by `prepare()` for the next send counter and the next expected
   * receive counter. Making one (OpenSSL looks the algorithm up, sets the key and the nonce) is
   * ~40 % of sealing a small packet (3.1 of 7.5 µs here); made after the previous packet left, it
   * is off the round trip of interactive traffic. Each is used at most once, for its own counter.
   */
  private preparedSeal: SealCipher | null = null;
  private preparedSealCounter = -1;
  private preparedOpen: OpenCipher | null = null;
  private preparedOpenCounter = -1;

  constructor(
    readonly peer: P,
    init: KeypairInit,
  ) {
    this.localIndex = init.localIndex;
    this.remoteIndex = init.remoteIndex;
    this.sendKey = init.sendKey;
    this.recvKey = init.recvKey;
    this.initiator = init.initiator;
    this.createdAt = init.createdAt;
    this.rekeyAt = init.rekeyAt;
    this.expiresAt = init.expiresAt;
    this.window = new ReplayWindow(init.replayWindow);
  }

  /**
   * Encrypts `payload` into a DATA packet and advances the counter. The packet is three pieces
   * (header, ciphertext, tag), sent with one sendmsg: joined, each packet would allocate and copy
   * its bytes once more, and on a sending daemon every payload byte would pass through three
   * short-lived Buffers (socket read, ciphertext, packet) instead of two (README, Performance).
   */
  seal(payload: Uint8Array): readonly Buffer[] {
    const counter = this.sendCounter++;
    const header = encodeDataHeader(this.remoteIndex, counter);
    let c = this.preparedSeal;
    if (c !== null && this.preparedSealCounter === counter) this.preparedSeal = null;
    else c = this.sealCipherFor(counter);
    const [body, tag] = sealWith(c, payload);
    return [header, body, tag];
  }

  /**
   * Makes the ciphers for the next packet each way (see `preparedSeal`), unless they are ready.
   * The receive side expects the counter after the greatest one received.
   */
  prepare(): void {
    if (this.wiped) return;
    const next = this.sendCounter;
    if (this.preparedSeal === null || this.preparedSealCounter !== next) {
      this.preparedSeal = this.sealCipherFor(next);
      this.preparedSealCounter = next;
    }
    const expected = this.maxReceived + 1;
    if (this.preparedOpen === null || this.preparedOpenCounter !== expected) {
      this.preparedOpen = this.openCipherFor(expected);
      this.preparedOpenCounter = expected;
    }
  }

  private sealCipherFor(counter: number): SealCipher {
    this.sendNonce.set(counter);
    return sealCipher(this.sendKey, this.sendNonce.bytes);
  }

  private openCipherFor(counter: number): OpenCipher {
    this.recvNonce.set(counter);
    return openCipher(this.recvKey, this.recvNonce.bytes);
  }

  /** Whether `counter` has not been seen and is not older than the window. */
  isFresh(counter: number): boolean {
    return this.window.check(BigInt(counter));
  }

  /**
   * Decrypts a DATA packet whose counter (`readDataCounter`) passed `isFresh`; null when it does
   * not authenticate.
   */
  open(packet: Buffer, counter: number): Buffer | null {
    let d = this.preparedOpen;
    if (d !== null && this.preparedOpenCounter === counter) this.preparedOpen = null;
    else d = this.openCipherFor(counter);
    return openWith(d, packet.subarray(DATA_HEADER_LEN));
  }

  /** Records an authenticated counter; returns whether it is the newest seen so far. */
  commit(counter: number): boolean {
    this.window.commit(BigInt(counter));
    if (counter <= this.maxReceived) return false;
    this.maxReceived = counter;
    return true;
  }

  /** Overwrites the key material once the keypair is dropped. */
  wipe(): void {
    this.wiped = true;
    this.preparedSeal = this.preparedOpen = null;
    this.sendKey.fill(0);
    this.recvKey.fill(0);
  }
}
