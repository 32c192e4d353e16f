/**
 * What the session manager knows about one pinned peer. Up to three keypairs live at once, as in
 * WireGuard: `current` (used to send), `previous` (still decrypts until its grace period ends) and
 * `next` (the responder's fresh keys, unused for sending until the initiator proves it has them by
 * sending a DATA packet with them).
 */
import type { Endpoint } from "../../util/addr.js";
import type { HandshakeState } from "./handshake-state.js";
import type { Keypair } from "./keypair.js";

export interface PendingInit {
  readonly kind: "init";
  readonly peer: PeerState;
  readonly localIndex: number;
  readonly hs: HandshakeState;
  /** When the first INIT of this attempt went out: the give-up timer counts from here. */
  readonly startedAt: number;
  /** Retransmissions so far; sets the backoff. */
  readonly attempt: number;
  /** Where the INIT went, to notice a peer that reappears elsewhere. */
  readonly endpoint: Endpoint;
  readonly retransmitAt: number;
}

export type SessionKeypair = Keypair<PeerState>;

export class PeerState {
  endpoint: Endpoint | undefined;
  current: SessionKeypair | undefined;
  previous: SessionKeypair | undefined;
  next: SessionKeypair | undefined;
  pending: PendingInit | undefined;
  /** Greatest INIT timestamp accepted from this peer; older or equal ones are replays. */
  greatestTimestamp: Buffer | undefined;
  lastInitReceivedAt = Number.NEGATIVE_INFINITY;
  /** Last INIT or RESPONSE we sent; `send` does not start a handshake again too soon after. */
  lastHandshakeSentAt = Number.NEGATIVE_INFINITY;
  queue: Buffer[] = [];
  queueBytes = 0;
  /** Transport payload bytes, for status. */
  txBytes = 0;
  rxBytes = 0;
  /** When the last authenticated DATA arrived (any keypair). */
  lastReceivedAt: number | undefined;

  constructor(
    /** Base64 of the public key: the peer's name in actions. */
    readonly id: string,
    readonly publicKey: Buffer,
  ) {}

  keypairs(): SessionKeypair[] {
    const out: SessionKeypair[] = [];
    if (this.current) out.push(this.current);
    if (this.previous) out.push(this.previous);
    if (this.next) out.push(this.next);
    return out;
  }
}
