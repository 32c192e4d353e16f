/** Public types of the reliable channel. */

export type ChannelState = "open" | "closing" | "closed" | "dead";

/** Why a channel died (stable codes, for logs and metrics). */
export type DeadReason =
  /** Nothing at all was received for idleTimeoutMs. */
  | "idle_timeout"
  /** Data was outstanding and no acknowledgement progress came for deadPeerTimeoutMs / maxPtoCount probes. */
  | "peer_unresponsive";

export interface ReliableChannelOptions {
  /** Current time (ms, monotonic), the start of every timer. */
  now: number;
  /** Bytes the layers below add to each datagram (e.g. session header + AEAD tag). Default 0. */
  overhead?: number;
  /** Largest UDP payload PMTU probing may reach, overhead included. Default 1452; 65000 on loopback. */
  maxDatagramSize?: number;
  /** Starting (always safe) UDP payload size, overhead included. Default 1200. */
  baseDatagramSize?: number;
  /** PING after this long without ack-eliciting traffic either way; 0 disables. Default 10 s. */
  keepaliveMs?: number;
  /** Dead after this long without receiving anything; 0 disables. Default 30 s. */
  idleTimeoutMs?: number;
  /** Dead after this long with data outstanding and no ack progress; 0 disables. Default 15 s. */
  deadPeerTimeoutMs?: number;
  /** Dead after this many consecutive probe timeouts. Default 10. */
  maxPtoCount?: number;
  /** `writable` turns false when this many bytes are written and not yet acknowledged. Default 8 MiB. */
  sendBufferBytes?: number;
  /** Connection receive window (bounds unread + out-of-order bytes). Default 16 MiB. */
  recvWindowBytes?: number;
  /** Our max_ack_delay. Default 25 ms. */
  maxAckDelayMs?: number;
  /**
   * Bytes left free in front of every packet poll() returns, for the caller's own header (the
   * packet starts at that offset of the returned Buffer). Counted in `overhead` like any header.
   * Default 0.
   */
  headroom?: number;
  /**
   * Build packets in one reused buffer: a Buffer from poll() is then valid only until the next
   * poll(), so the caller must consume it at once (encrypt or copy it). Spares an allocation of
   * up to 64 KB per packet. Default false.
   */
  reusePacketBuffer?: boolean;
}

export interface ChannelStats {
  state: ChannelState;
  srttMs: number;
  minRttMs: number;
  rttVarMs: number;
  cwnd: number;
  ssthresh: number;
  bytesInFlight: number;
  /** Current UDP payload size (overhead included). */
  datagramSize: number;
  packetsSent: number;
  packetsReceived: number;
  packetsLost: number;
  /** Packets dropped because they did not decode (counted, never thrown). */
  packetsMalformed: number;
  duplicatePackets: number;
  ptoCount: number;
  probeTimeouts: number;
  congestionEvents: number;
  /** Times slow start ended on rising delay (HyStart) before any loss. */
  hystartExits: number;
  /** Loss events judged random (no queueing delay) that did not shrink the window. */
  ignoredLossEvents: number;
  lossRate: number;
  retransmittedBytes: number;
  bytesSent: number;
  bytesDelivered: number;
  bytesRead: number;
  sendBuffered: number;
  recvBuffered: number;
  peerMaxData: number;
  pmtuProbesSent: number;
  pmtuProbesLost: number;
  /** Times the datagram size fell back to the base after repeated probe timeouts. */
  pmtuBlackHoles: number;
  /** Times the window collapsed to the minimum after losses spanning several PTOs. */
  persistentCongestion: number;
  /** Packets declared lost that were acknowledged after all (reordering). */
  spuriousLosses: number;
  /** Window reductions undone because all the losses behind them were spurious. */
  undoneReductions: number;
  /** Current reordering thresholds (adapt upward on spurious losses). */
  packetThreshold: number;
  timeThreshold: number;
}
