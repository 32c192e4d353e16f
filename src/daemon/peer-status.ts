/**
 * A peer's line in `p2ptun status`: the Peer's own view (state, path, RTT, streams, reason)
 * completed with what the SessionManager knows (bytes each way on the wire, the last packet
 * received, the age of the session keys), and a reason for every state that is not "connected".
 */
import type { SessionPeerStatus } from "../crypto/noise/session-types.js";
import type { PeerStatus } from "./status-types.js";

/** Why an idle peer is idle: nothing of ours needs it, so we wait for it to connect to us. */
export const IDLE_REASON =
  "not needed yet: no forward or SOCKS entry here uses this peer, so it connects when the peer connects to us";

export function completePeerStatus(
  peer: PeerStatus,
  session: SessionPeerStatus | undefined,
  now: number,
): PeerStatus {
  const out: PeerStatus = { ...peer, handshakeAgoMs: null };
  if (session) {
    out.bytesIn = Math.max(peer.bytesIn, session.rxBytes);
    out.bytesOut = Math.max(peer.bytesOut, session.txBytes);
    if (session.lastReceivedAt !== undefined) {
      const ago = Math.max(0, now - session.lastReceivedAt);
      if (out.lastPacketAgoMs === null || ago < out.lastPacketAgoMs) out.lastPacketAgoMs = ago;
    }
    if (session.handshakeAt !== undefined) out.handshakeAgoMs = Math.max(0, now - session.handshakeAt);
  }
  if (out.reason === null && out.state === "idle") out.reason = IDLE_REASON;
  return out;
}
