/**
 * Which link (one reliable channel + mux instance) two peers share, agreed inside the encrypted
 * session. Sans-I/O. Rekeys and re-punched paths keep the link — so a transfer survives a NAT
 * reboot — while a restarted peer or a dead channel gets a fresh one, on both sides at once.
 *
 * The peer with the lower public key leads: it picks link ids and announces them (LINK_OPEN,
 * repeated until LINK_ACK). The follower never picks ids; when it needs a link (at start, or its
 * channel died) it sends LINK_REQUEST with a nonce that names that need, so a repeated request
 * never makes the leader replace a link twice. Data tagged with another link id is dropped; an
 * unknown id prompts (rate-limited) a re-announcement or a request, which heals a lost OPEN.
 */
import { encodeU32Message, INNER } from "../wire/inner.js";

export type LinkAction =
  | { type: "send"; payload: Buffer }
  /** Tear down any current link and start link `id` (empty channel, empty mux). */
  | { type: "create"; id: number };

/** LINK_OPEN / LINK_REQUEST repeat at this pace until answered. */
export const LINK_RETRY_MS = 500;

export class LinkControl {
  current = 0;
  private acked = false;
  private wish = 0;
  private lastServedWish = 0;
  private nextRetryAt: number | undefined;
  private lastNudgeAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly leader: boolean,
    private readonly randomU32: () => number,
  ) {}

  private freshId(): number {
    let id = 0;
    while (id === 0 || id === this.current) id = this.randomU32() >>> 0;
    return id;
  }

  /** The session is up (first time or again): make sure a link exists. */
  sessionUp(now: number): LinkAction[] {
    if (this.current !== 0) return this.leader && !this.acked ? [this.open(now)] : [];
    return this.needLink(now);
  }

  /** Our channel died, or we have none: get a fresh one. */
  needLink(now: number): LinkAction[] {
    if (this.leader) {
      this.current = this.freshId();
      this.acked = false;
      return [{ type: "create", id: this.current }, this.open(now)];
    }
    this.current = 0;
    this.wish = this.freshId();
    return [this.request(now)];
  }

  private open(now: number): LinkAction {
    this.nextRetryAt = now + LINK_RETRY_MS;
    return { type: "send", payload: encodeU32Message(INNER.LINK_OPEN, this.current) };
  }

  private request(now: number): LinkAction {
    this.nextRetryAt = now + LINK_RETRY_MS;
    return { type: "send", payload: encodeU32Message(INNER.LINK_REQUEST, this.wish) };
  }

  /** A control message from the peer (type + value already decoded). */
  handle(type: number, value: number, now: number): LinkAction[] {
    if (this.leader) {
      if (type === INNER.LINK_ACK && value === this.current) {
        this.acked = true;
        this.nextRetryAt = undefined;
        return [];
      }
      if (type === INNER.LINK_REQUEST) {
        const fresh = value !== this.lastServedWish;
        this.lastServedWish = value;
        // A link the follower has not acknowledged yet is new to it anyway: offer that one. At
        // session start both sides act at once, and the follower's REQUEST crossing our OPEN
        // must not replace a link that streams may already be using.
        if (this.current && (!fresh || !this.acked)) return [this.open(now)];
        return this.needLink(now);
      }
      return [];
    }
    if (type === INNER.LINK_OPEN && value !== 0) {
      const out: LinkAction[] = [];
      if (value !== this.current) {
        this.current = value;
        out.push({ type: "create", id: value });
      }
      this.wish = 0;
      this.nextRetryAt = undefined;
      out.push({ type: "send", payload: encodeU32Message(INNER.LINK_ACK, value) });
      return out;
    }
    return [];
  }

  /** Data for link `id` arrived: true if it is ours; otherwise maybe nudge the peer. */
  accepts(id: number, now: number): { ok: boolean; actions: LinkAction[] } {
    if (id === this.current && id !== 0) return { ok: true, actions: [] };
    if (now - this.lastNudgeAt < LINK_RETRY_MS) return { ok: false, actions: [] };
    this.lastNudgeAt = now;
    if (this.leader) return { ok: false, actions: this.current ? [this.open(now)] : [] };
    if (this.wish === 0) this.wish = this.freshId();
    return { ok: false, actions: [this.request(now)] };
  }

  nextTimer(): number | undefined {
    return this.nextRetryAt;
  }

  tick(now: number): LinkAction[] {
    if (this.nextRetryAt === undefined || now < this.nextRetryAt) return [];
    if (this.leader) return this.current && !this.acked ? [this.open(now)] : [];
    return this.current === 0 && this.wish !== 0 ? [this.request(now)] : [];
  }

  /** The session is gone for good (peer removed, daemon stopping). */
  reset(): void {
    this.current = 0;
    this.acked = false;
    this.wish = 0;
    this.nextRetryAt = undefined;
  }
}
