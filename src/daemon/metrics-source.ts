/**
 * What the daemon's Prometheus collectors read (src/daemon/metrics.ts). Apart from metrics.ts so
 * the daemon can describe its state without loading prom-client, which it imports only when
 * `metrics.listen` is configured.
 */
import type { ExitStats } from "./exit.js";
import type { ListenerStatus, PeerStatus } from "./status-types.js";

/** What one configured introducer exposes to the collectors. */
export interface IntroducerSource {
  label: string;
  registered: boolean;
  rttMs: number | null;
  /** The client core's drop counters (malformed, unauthenticated, replayed, ...). */
  drops: Record<string, number>;
  /** Events the link reported: registered, introduction, retimed, refused, declined, lost. */
  events: Record<string, number>;
}

/** What one peer exposes to the collectors. */
export interface PeerSource {
  status: PeerStatus;
  counters: { punchAttempts: number; punchFailures: number; punchSuccesses?: number; linksCreated: number };
  /** Session bytes each way (encrypted payload, from the SessionManager). */
  session?: { txBytes: number; rxBytes: number };
  /**
   * The link in use: a UDP link (reliable channel + mux) or the TCP path's mux (whose channel
   * counters are zero: retransmission over TCP is the kernel's business). `key` is the link's
   * mux (every link has its own): a new object is a new link.
   */
  link: {
    key: object;
    channel: { retransmittedBytes: number; packetsLost: number; packetsMalformed: number };
    mux: {
      streamsOpened: number;
      streamsAccepted: number;
      streamsRefused: number;
      protocolErrors: number;
      dataBytesIn: number;
      dataBytesOut: number;
    };
  } | null;
}

/** Everything the daemon's collectors read, taken fresh at every scrape. */
export interface DaemonMetricsSource {
  name: string;
  introducers: IntroducerSource[];
  peers: PeerSource[];
  /** SessionManager counters (handshakeFailed, malformed, decryptFail, replay, ...). */
  session: Record<string, number>;
  /** UdpEndpoint counters (received, unknownType, handlerErrors, sendErrors). */
  udp: Record<string, number>;
  /** Daemon-level drops (discoUnknownPeer, introducerUnknownSource). */
  daemon: Record<string, number>;
  exit: ExitStats;
  listeners: ListenerStatus[];
  /** The TCP fallback's counters (punches, connected, failed, adopted), when it runs. */
  tcp?: { punches: number; connected: number; failed: number; adopted: number };
}

/** The channel counters of a link without a reliable channel of ours (the TCP path). */
export const NO_CHANNEL_STATS = { retransmittedBytes: 0, packetsLost: 0, packetsMalformed: 0 } as const;
