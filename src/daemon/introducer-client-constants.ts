/**
 * Timers of the daemon's introducer client, in one place.
 */

/** Refresh the registration at most this long after the last answer: half of the 30 s after which
 * common NATs drop an idle UDP mapping, so one lost refresh (and its retries) still fits. */
export const CLIENT_REFRESH_MS = 15_000;
/** Refreshes come 0–20 % early, so many daemons behind one introducer do not march in step. */
export const REFRESH_JITTER = 0.2;
/** An unanswered REGISTER is repeated after 250 ms, 500 ms, 1 s, … doubling up to the cap. */
export const REGISTER_RETRY_BASE_MS = 250;
export const REGISTER_RETRY_MAX_MS = 30_000;
/** ±10 % on every retry delay. */
export const RETRY_JITTER = 0.1;
/** After this many unanswered REGISTERs in a row (≈ 7.75 s) the introducer counts as lost. */
export const LOST_AFTER_ATTEMPTS = 5;
/** After a refused REGISTER (e.g. NAME_MISMATCH) try again this much later: config may be fixed. */
export const REGISTER_REFUSED_RETRY_MS = 60_000;
/** An unanswered INTRODUCE is repeated after 500 ms, 1 s, 2 s, 4 s (same txid), then given up. */
export const INTRODUCE_RETRY_BASE_MS = 500;
export const INTRODUCE_MAX_SENDS = 5;
/** Handled introductions are remembered this long, so repeats are only re-acknowledged. */
export const SEEN_INTRODUCTION_TTL_MS = 30_000;
export const MAX_SEEN_INTRODUCTIONS = 256;
/** REGISTER txids remembered per exchange, to match answers to retransmissions (for the RTT). */
export const MAX_REGISTER_TXIDS = 16;
