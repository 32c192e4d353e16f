/**
 * The vocabulary of SessionManager: the actions it returns, its options, its drop counters and
 * its error. Kept apart so callers (daemon, tests) can import the types without the machinery.
 */
import type { Endpoint } from "../../util/addr.js";
import { P2pError } from "../../util/errors.js";
import type { Datagram } from "../../wire/datagram.js";
import type { SessionTimings } from "./session-constants.js";

export type SessionAction =
  /**
   * Put `packet` on the wire to `to` (treat both as read-only; they may be shared). DATA packets
   * come in pieces (see Datagram), handshake packets as one Buffer.
   */
  | { type: "send"; peer: string; to: Endpoint; packet: Datagram }
  /** Decrypted transport plaintext (never empty: empty DATA is the session's own keepalive). */
  | { type: "deliver"; peer: string; from: Endpoint; payload: Buffer }
  /** New keys are usable for sending: the first time and after every rekey. */
  | { type: "established"; peer: string; endpoint: Endpoint }
  /** An authenticated packet came from a new address; the peer's endpoint moved there. */
  | { type: "roamed"; peer: string; endpoint: Endpoint }
  /** A handshake went unanswered for `handshakeGiveUpMs`; queued payloads were dropped. */
  | { type: "handshakeFailed"; peer: string };

/** What `p2ptun status` shows about one peer's session. */
export interface SessionPeerStatus {
  endpoint: Endpoint | undefined;
  established: boolean;
  /** When the keys in use were made (the last completed handshake), if any. */
  handshakeAt: number | undefined;
  handshakeInProgress: boolean;
  lastReceivedAt: number | undefined;
  txBytes: number;
  rxBytes: number;
}

/** A peer given as raw 32-byte public key or as its base64 text (the `peer` of actions). */
export type PeerKey = Buffer | string;

export interface SessionManagerOptions {
  privateKey: Buffer;
  /** Pinned peer public keys: the only ones a session can exist with. */
  peers: Buffer[];
  now: number;
  timings?: Partial<SessionTimings>;
  /** Uniform in [0, 1), for retransmission jitter. */
  random?: () => number;
  /** Wall-clock Unix milliseconds for INIT timestamps (they must grow across restarts). */
  wallClockMs?: () => number;
}

/** Configuration or programming mistakes: unusable peer key, connect() to an unpinned peer. */
export class SessionError extends P2pError {}

export const SESSION_COUNTERS = [
  "malformed", // wrong length or unknown type
  "unknownKey", // INIT from a static key that is not pinned
  "unknownIndex", // RESPONSE or DATA for an index we do not have (any more)
  "decryptFail", // failed authentication
  "replay", // DATA counter already seen or older than the window
  "initReplay", // INIT timestamp not newer than the greatest seen from that peer
  "initFlood", // INIT too soon after the previous one from that peer
  "initRateLimited", // INIT over the global budget, dropped before any DH work
  "expired", // DATA on keys older than rejectAfterMs
  "staleKey", // DATA on previous keys after the grace period
  "simultaneousIgnored", // INIT ignored because our own crossing INIT wins the tie-break
  "queueDropped", // payloads dropped: queue full, handshake failed, or peer removed
  "handshakeFailed", // handshakes abandoned
  "noSession", // send() to a peer that is not pinned
] as const;
export type SessionCounter = (typeof SESSION_COUNTERS)[number];
