/**
 * Every timer and tuning constant of the reliable channel, in one place (milliseconds, bytes).
 * Values follow RFC 9002 (recovery), RFC 8899 (DPLPMTUD) and RFC 9000 (flow control) unless noted.
 */

/** Smallest datagram every IPv4/IPv6 path carries (QUIC's floor); the size we start with. */
export const BASE_DATAGRAM_SIZE = 1200;
/** Default upper bound for PMTU probing on internet paths (1500 MTU - IPv6 40 - UDP 8). */
export const DEFAULT_MAX_DATAGRAM_SIZE = 1452;
/** Largest UDP payload there is (IPv4: 65535 − 20 − 8); the lead passes 65000 on loopback. */
export const ABSOLUTE_MAX_DATAGRAM_SIZE = 65507;
/** Smallest room for frames a datagram must leave after the session overhead. */
export const MIN_PAYLOAD_BYTES = 64;

/** RFC 9002 kPacketThreshold: reordering tolerated before a packet is declared lost. */
export const PACKET_THRESHOLD = 3;
/** RFC 9002 kTimeThreshold = 9/8 of an RTT. */
export const TIME_THRESHOLD = 9 / 8;
/**
 * Reordering adaptation (RFC 9002 §6.1 allows it; Linux RACK does it): when a packet declared
 * lost is acknowledged after all, the packet threshold grows to the observed reordering distance
 * (up to this cap) and the time threshold by a step (up to the cap), so a reordering path stops
 * causing spurious retransmissions and window reductions.
 */
export const MAX_PACKET_THRESHOLD = 128;
export const TIME_THRESHOLD_STEP = 1 / 8;
export const MAX_TIME_THRESHOLD = 2;
/** Recently lost packet numbers remembered to recognise spurious losses. */
export const MAX_REMEMBERED_LOST_RANGES = 16;
/** RFC 9002 kGranularity: timer granularity assumed for loss and PTO timers. */
export const TIMER_GRANULARITY_MS = 1;
/** RTT assumed before the first sample (RFC 9002 kInitialRtt). */
export const INITIAL_RTT_MS = 333;
/** Our max_ack_delay: how long a receiver may sit on an ack-eliciting packet. */
export const MAX_ACK_DELAY_MS = 25;
/** Ack after this many ack-eliciting packets (RFC 9000 §13.2.2). */
export const ACK_ELICITING_THRESHOLD = 2;
/** Ranges carried in one ACK frame; older ranges were acknowledged by earlier ACKs. */
export const MAX_ACK_RANGES = 32;
/** Received packet-number ranges remembered by a receiver (older ones fall off). */
export const MAX_TRACKED_RANGES = 64;
/** Upper bound of one backed-off probe timeout period, so a long outage is still probed. */
export const MAX_PTO_PERIOD_MS = 8000;

/** RFC 9002 kPersistentCongestionThreshold: losses spanning this many PTOs reset the window. */
export const PERSISTENT_CONGESTION_THRESHOLD = 3;
/**
 * RFC 8899 black-hole detection: after this many consecutive probe timeouts the datagram size
 * falls back to the base size (the path may have shrunk) and the search starts again.
 */
export const PMTU_BLACK_HOLE_PTOS = 3;

/** Congestion window floor, in datagrams (RFC 9002 kMinimumWindow = 2). */
export const MIN_WINDOW_PACKETS = 2;
/** Initial window (RFC 9002 §7.2): min(10 * size, max(14720, 2 * size)). */
export const INITIAL_WINDOW_PACKETS = 10;
export const INITIAL_WINDOW_FLOOR_BYTES = 14720;
/** Multiplicative decrease on a congestive loss event (CUBIC's beta; gentler than Reno's 0.5). */
export const LOSS_REDUCTION_FACTOR = 0.7;
/**
 * Loss is a congestion signal only when the RTT shows a standing queue of at least
 * clamp(minRtt * QUEUE_DELAY_FRACTION, MIN, MAX), or when too many packets of a round are lost.
 * Random (non-congestive) loss without queueing delay therefore does not shrink the window.
 */
export const QUEUE_DELAY_FRACTION = 1 / 4;
export const QUEUE_DELAY_MIN_MS = 2;
export const QUEUE_DELAY_MAX_MS = 16;
/** Fraction of a round's packets lost above which loss counts as congestion regardless of delay. */
export const HIGH_LOSS_FRACTION = 0.2;
/** HyStart (RFC 9406): leave slow start when a round's min RTT grows by clamp(min/8, 4, 16) ms. */
export const HYSTART_MIN_SAMPLES = 8;
export const HYSTART_DELAY_DIVISOR = 8;
export const HYSTART_DELAY_MIN_MS = 4;
export const HYSTART_DELAY_MAX_MS = 16;
/** Pacing gain over cwnd/srtt (RFC 9002 §7.7 suggests 1.25); doubled during slow start. */
export const PACING_GAIN = 1.25;
export const PACING_GAIN_SLOW_START = 2;
/** The pacer's bucket holds at least this much time worth of sending (timers are ~1 ms coarse). */
export const PACING_BURST_MS = 2;

/** DPLPMTUD (RFC 8899) MAX_PROBES: attempts at one size before it is considered too big. */
export const PMTU_MAX_PROBES = 3;
/** Search stops when the known-good and known-bad sizes are this close. */
export const PMTU_SEARCH_GRANULARITY = 32;
/**
 * Sizes worth trying before bisecting: UDP payloads of 1500- and 9000-byte MTUs over IPv6/IPv4,
 * ascending. After the maximum fails they are tried from the smallest up.
 */
export const PMTU_COMMON_SIZES = [1452, 1472, 8952, 8972] as const;
/** After a finished search below the maximum, look again this often (RFC 8899 PMTU_RAISE_TIMER). */
export const PMTU_RAISE_INTERVAL_MS = 600_000;

/**
 * Flow-control credit both sides may assume before the first MAX_DATA arrives. A receiver always
 * accepts at least this much, whatever window it is configured with.
 */
export const INITIAL_MAX_DATA = 256 * 1024;
export const DEFAULT_RECV_WINDOW_BYTES = 16 * 1024 * 1024;
export const DEFAULT_SEND_BUFFER_BYTES = 8 * 1024 * 1024;

/** Send a PING when nothing ack-eliciting went either way for this long. */
export const DEFAULT_KEEPALIVE_MS = 10_000;
/** Nothing at all received for this long: the channel is dead. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/** Ack-eliciting data outstanding and no acknowledgement progress for this long: dead. */
export const DEFAULT_DEAD_PEER_TIMEOUT_MS = 15_000;
/** Consecutive unanswered probe timeouts after which the peer is dead. */
export const DEFAULT_MAX_PTO_COUNT = 10;
/** Longest CLOSE reason text carried on the wire (bytes of UTF-8). */
export const MAX_CLOSE_REASON_BYTES = 256;
/** Times a closing channel re-sends CLOSE in answer to further packets from the peer. */
export const MAX_CLOSE_REPEATS = 3;
