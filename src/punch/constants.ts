/**
 * Every timing and bound of UDP hole punching and path monitoring, with the reason for its value.
 * Protocol cores take these as defaults; tests and the daemon may override them through options.
 */

/**
 * TTL of the primer packet. Our primer must leave our own NAT (so the NAT creates the mapping
 * towards the peer) but die before the peer's NAT: a primer that arrives could make that NAT
 * remap or blacklist the peer's port. A NAT is one hop, so 2 leaves it and dies at the next router;
 * the lab has NAT → router → core → router → NAT, and real paths have many more hops.
 */
export const PRIMER_TTL = 2;

/**
 * Probe schedule per candidate, starting at the agreed start instant. The first gap is short
 * because both sides open their NATs at about the same moment and the first packets in each
 * direction may be dropped until the other side's mapping exists; then it backs off so a failing
 * attempt costs few packets.
 */
export const PUNCH_FIRST_INTERVAL_MS = 25;
export const PUNCH_BACKOFF = 1.5;
export const PUNCH_MAX_INTERVAL_MS = 1_000;

/**
 * How long one attempt may try before it reports `failed`. Start instants can differ by the error
 * of the introducer's RTT estimates (tens of ms), NATs may take a few probes to open, and the user
 * waits for this before the TCP fallback: 9 s covers slow paths and still feels like "seconds".
 */
export const PUNCH_BUDGET_MS = 9_000;

/** Upper bound on pings per candidate: with the schedule above about 17 fit in the budget. */
export const PUNCH_MAX_PINGS_PER_CANDIDATE = 24;

/**
 * Peer-reflexive candidates we add from pings arriving from unknown addresses. A symmetric NAT
 * gives one new port per destination, so a handful is plenty; the cap bounds the work a peer can
 * cause us.
 */
export const PUNCH_MAX_PRFLX = 4;

/** Candidates we try at most (the introducer's list plus prflx); extra ones are ignored. */
export const PUNCH_MAX_CANDIDATES = 16;

/** Pongs one attempt sends at most; pings are authenticated, this only guards against a bug. */
export const PUNCH_MAX_PONGS = 256;

/**
 * After a server- or peer-reflexive candidate answers first, wait this long for a LAN (host)
 * candidate to answer too: peers behind the same NAT should talk over the LAN, because a NAT may
 * not hairpin, and when it does the LAN is faster. Paid only when a srflx path wins while the peer
 * announced host candidates.
 */
export const HOST_PREFER_WINDOW_MS = 120;

/**
 * Path monitor: a NAT drops a UDP mapping after some idle time (30 s is common, RFC 4787 asks for
 * at least 2 min but many do less), so an idle path is pinged every 10 s. Traffic that arrived from
 * the peer also keeps the mapping and proves the path, so it postpones the keepalive.
 */
export const KEEPALIVE_INTERVAL_MS = 10_000;

/**
 * A probe not answered within this is a miss; well above any sane RTT. After a miss the monitor
 * probes again at once rather than after the keepalive interval, so a dead path is declared lost
 * about LOST_AFTER_MISSES × PONG_TIMEOUT_MS (6 s) after the first unanswered keepalive.
 */
export const PONG_TIMEOUT_MS = 2_000;

/** Consecutive misses after which the path is declared lost and the daemon re-punches. */
export const LOST_AFTER_MISSES = 3;

/** Smoothed RTT gain, as TCP's SRTT (RFC 6298): new = old + (sample - old) / 8. */
export const RTT_EWMA_GAIN = 1 / 8;

/** On-demand probes (`p2ptun ping`) outstanding at once per path; the oldest is dropped beyond. */
export const MAX_OUTSTANDING_PROBES = 32;
