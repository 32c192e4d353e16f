/**
 * One set of transport keys from one completed handshake, with everything the DATA hot path
 * needs: the send counter, a reusable nonce per direction, the replay window, and the times at
 * which it must be renewed or refused. Counters are plain numbers; the only BigInt per received
 * packet is the conversion the shared ReplayWindow takes.
 */
import { allocData, DATA_COUNTER_OFFSET, DATA_HEADER_LEN } from "../../wire/session.js";
import { ReplayWindow } from "../replay.js";
import { openTransport, sealTransport, TransportNonce } from "./transport-cipher.js";

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

  /** Encrypts `payload` into a complete DATA packet (one allocation) and advances the counter. */
  seal(payload: Uint8Array): Buffer {
    const counter = this.sendCounter++;
    const packet = allocData(this.remoteIndex, counter, payload.length);
    this.sendNonce.set(counter);
    sealTransport(this.sendKey, this.sendNonce.bytes, payload, packet, DATA_HEADER_LEN);
    return packet;
  }

  /** Whether `counter` has not been seen and is not older than the window. */
  isFresh(counter: number): boolean {
    return this.window.check(BigInt(counter));
  }

  /** Decrypts a DATA packet whose counter passed `isFresh`; null when it does not authenticate. */
  open(packet: Buffer): Buffer | null {
    this.recvNonce.setFromLE(packet, DATA_COUNTER_OFFSET);
    return openTransport(this.recvKey, this.recvNonce.bytes, packet.subarray(DATA_HEADER_LEN));
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
    this.sendKey.fill(0);
    this.recvKey.fill(0);
  }
}
