/**
 * Every timer and limit of the introducer in one place (wireguard-go keeps its in `timers.go`).
 */

/** Told to daemons in REGISTERED: refresh at least this often. Daemons refresh more often when
 * their NAT needs it (p2ptun's client refreshes every ≤15 s, under a 30 s UDP mapping timeout). */
export const REFRESH_SECONDS = 15;
/** A transport registration nobody refreshed for this long is forgotten (3 missed refreshes). */
export const REGISTRATION_EXPIRY_MS = 3 * REFRESH_SECONDS * 1000;

/** Used for a daemon that has not reported its RTT yet; errs on the long side. */
export const DEFAULT_RTT_MS = 200;
/**
 * Lead time of an introduction's common start instant T, counted from the INTRODUCE:
 * the target's round trip (INTRODUCTION → ACK) plus the requester's half trip, plus this margin
 * for one lost packet and scheduling jitter, clamped to [MIN, MAX].
 */
export const INTRO_MARGIN_MS = 400;
export const INTRO_MIN_LEAD_MS = 300;
export const INTRO_MAX_LEAD_MS = 5000;
/**
 * The requester is told T when its INTRODUCTION, sent on the target's ACK, arrives no later than
 * this after T (it then starts at once). A repeat to the target leaves exactly the target's round
 * trip and the requester's half trip before T, so its ACK comes back about on time, give or take
 * the RTTs' jitter; without this slack it would move T and cost another round trip.
 */
export const INTRO_LATE_START_TOLERANCE_MS = 50;
/** An unacknowledged INTRODUCTION is repeated every RETRY ms, at most SENDS times in all. */
export const INTRO_RETRY_MS = 400;
export const INTRO_MAX_SENDS = 5;
/**
 * To the target, up to this many (≈ 6 s) before the requester is told PEER_UNREACHABLE: a target
 * that went silent has usually restarted (or its NAT remapped it) and re-registers within seconds
 * from a new endpoint, which reroutes the introduction at once; refusing after 2 s made the
 * requester wait out its retry backoff instead. The requester's client repeats its INTRODUCE for
 * ~15 s and gives up on its own introduction after 10 s, both longer.
 */
export const INTRO_TARGET_MAX_SENDS = 15;
/**
 * An INTRODUCE for a configured peer that is not registered waits this long for it to register
 * before PEER_NOT_REGISTERED: two daemons started together ask for each other before the second
 * has registered, and should be introduced the moment it does, not after the asker's retry
 * backoff. Within the requester's INTRODUCE retries (~15 s) and its 10 s introduction timeout.
 */
export const INTRO_REGISTRATION_WAIT_MS = 6000;
/** Bounds on introductions in progress (memory, and a peer cannot keep the introducer busy). */
export const MAX_PENDING_INTRODUCTIONS = 1024;
export const MAX_PENDING_PER_REQUESTER = 16;
/** How long, and how many, finished introductions are remembered to answer late INTRODUCE
 * repeats consistently (a daemon repeats one for up to ~15 s). */
export const FINISHED_MEMORY_MS = 30_000;
export const MAX_FINISHED_INTRODUCTIONS = 4096;

/** Per source IP token bucket: bursts up to CAPACITY packets, refilled at RATE per second. */
export const RATE_BUCKET_CAPACITY = 20;
export const RATE_REFILL_PER_SECOND = 10;
/** At most this many source IPs are tracked; the least recently seen is forgotten first. */
export const MAX_TRACKED_SOURCES = 10_000;

/** TCP: connections (in all, and per source IP), and how long a silent connection is kept. */
export const MAX_TCP_CONNECTIONS = 1024;
export const MAX_TCP_CONNECTIONS_PER_IP = 16;
export const TCP_IDLE_TIMEOUT_MS = REGISTRATION_EXPIRY_MS + 5000;
/** How often the server adapter calls `tick` at the latest. */
export const MAX_TICK_INTERVAL_MS = 1000;
