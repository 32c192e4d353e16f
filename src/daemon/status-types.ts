/** The shape of `p2ptun status --json`: the daemon builds it, the CLI renders it. */
export type PeerState = "idle" | "connecting" | "connected" | "failed";
export type PathKind = "udp" | "tcp" | "relay";

export interface IntroducerStatus {
  address: string;
  registered: boolean;
  publicEndpoint: string | null;
  tcpPublicEndpoint: string | null;
  lastContactAgoMs: number | null;
  rttMs: number | null;
  /** Why the introducer refused our registration (code and reason), until it accepts one. */
  refused: string | null;
}

export interface PeerStatus {
  name: string;
  state: PeerState;
  path: PathKind | null;
  endpoint: string | null;
  rttMs: number | null;
  bytesIn: number;
  bytesOut: number;
  streams: number;
  /** Since the last packet (session data or keepalive) from the peer. */
  lastPacketAgoMs: number | null;
  /** Since the current session keys were agreed (renewed every two minutes while in use). */
  handshakeAgoMs?: number | null;
  /** Why the peer is not connected (or what is happening), in words. */
  reason: string | null;
}

export interface ListenerStatus {
  kind: "forward" | "socks";
  listen: string;
  peer: string;
  connect?: string;
  listening: boolean;
  active: number;
  error?: string;
}

export interface DaemonStatus {
  name: string;
  publicKey: string;
  uptimeMs: number;
  bind: string;
  introducers: IntroducerStatus[];
  peers: PeerStatus[];
  listeners: ListenerStatus[];
  /** Where /metrics is served, or null when metrics are off. */
  metrics?: string | null;
}
