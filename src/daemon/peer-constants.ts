/** Timings and sizes of the per-peer control plane, in one place. */

/** How long to wait for an introduction after asking; then the attempt counts as failed. */
export const INTRODUCTION_TIMEOUT_MS = 10_000;

/** Failed attempts back off exponentially from here … */
export const RETRY_BASE_MS = 2_000;
/** … up to here, so a peer that is away is retried about once a minute, never in a spin. */
export const RETRY_MAX_MS = 60_000;
/** Up to this fraction of the backoff is added at random, so two peers don't retry in lockstep. */
export const RETRY_JITTER = 0.25;

/** A local connection to a forward waits this long for the peer link before it is refused. */
export const STREAM_WAIT_MS = 15_000;

/** Largest UDP payload the reliable channel may probe up to: loopback carries 64 KB datagrams… */
export const LOOPBACK_MAX_DATAGRAM = 65_000;
/** … an internet path is assumed to carry 1500-byte IP packets (1452 = 1500 − IPv6 40 − UDP 8). */
export const INTERNET_MAX_DATAGRAM = 1452;

/**
 * Keepalives of a UDP link's inner layers. The path monitor already pings an idle path every
 * KEEPALIVE_INTERVAL_MS (10 s, for 30 s NAT timeouts) and notices a dead path; the reliable
 * channel only needs to hear something within its idle timeout (LINK_IDLE_TIMEOUT_MS), so its own
 * PING is rare, and the mux's timer PINGs (15 s, both sides) are off: three layers pinging an
 * idle tunnel cost ~1 packet/s per side where one PING/PONG per 10 s does the job.
 */
export const LINK_KEEPALIVE_MS = 40_000;
export const LINK_IDLE_TIMEOUT_MS = 120_000;

/**
 * An introduction that cannot give a path yet (UDP blocked here, the peer not on TCP yet) is
 * asked for again after this long, without counting as a failure.
 */
export const NO_PATH_YET_RETRY_MS = 1_000;
