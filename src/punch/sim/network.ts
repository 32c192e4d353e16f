/**
 * An in-memory internet with a virtual clock, for deterministic tests of hole punching.
 *
 * Hosts are public or sit on a LAN behind one SimNat. A datagram from behind a NAT to the outside
 * crosses: the NAT (a router: TTL - 1, translation), `coreHops` routers (TTL - 1 each), and, if the
 * destination is behind a NAT, that NAT (filtering, then TTL - 1 to forward inside). A router drops
 * a packet whose TTL is 1 or less instead of forwarding it, as Linux does before its NAT step, so a
 * primer with TTL 2 leaves its own NAT (creating the mapping) and dies at the next router. With
 * the default 3 core hops this matches the NAT lab: TTL 5 is the first to be seen by the far NAT,
 * TTL 6 the first to reach the host behind it. ICMP is not modelled: a
 * user-space UDP socket does not see it anyway.
 */
import type { Endpoint } from "../../util/addr.js";
import type { Millis } from "../../util/clock.js";
import type { SimNat } from "./nat.js";

export interface SimNetworkOptions {
  /** One-way delay between two points on the internet side. */
  wanDelayMs?: number;
  lanDelayMs?: number;
  /** Routers between a NAT (or public host) and the other side: NAT → router → core → router → NAT. */
  coreHops?: number;
  defaultTtl?: number;
  /** Source of randomness for loss; pass a seeded one for reproducible runs. */
  random?: () => number;
}

export type Receiver = (packet: Buffer, from: Endpoint, now: Millis) => void;

export interface SimHost {
  ip: string;
  nat?: SimNat;
  receive?: Receiver;
}

type DropReason = "ttl" | "filtered" | "no-route" | "no-hairpin" | "no-receiver" | "partitioned" | "lost";

export class SimNetwork {
  now: Millis = 0;
  readonly drops: Record<DropReason, number> = {
    ttl: 0,
    filtered: 0,
    "no-route": 0,
    "no-hairpin": 0,
    "no-receiver": 0,
    partitioned: 0,
    lost: 0,
  };
  /** When set, every packet that would cross the internet is dropped (a dead uplink). */
  partitioned = false;
  /** Share of packets lost in the core (after the sender's NAT, so its mapping still exists). */
  lossRate = 0;
  delivered = 0;
  private readonly hosts = new Map<string, SimHost>();
  private readonly natByIp = new Map<string, SimNat>();
  private readonly queue: Array<{ at: Millis; seq: number; run: () => void }> = [];
  private seq = 0;
  private readonly o: Required<SimNetworkOptions>;

  constructor(options: SimNetworkOptions = {}) {
    this.o = {
      wanDelayMs: options.wanDelayMs ?? 20,
      lanDelayMs: options.lanDelayMs ?? 1,
      coreHops: options.coreHops ?? 3,
      defaultTtl: options.defaultTtl ?? 64,
      random: options.random ?? Math.random,
    };
  }

  addNat(nat: SimNat): SimNat {
    this.natByIp.set(nat.spec.publicIp, nat);
    return nat;
  }

  /** A host at `ip`; with `nat` it sits on that NAT's LAN, otherwise on the public side. */
  addHost(ip: string, nat?: SimNat): SimHost {
    const h: SimHost = { ip, nat };
    this.hosts.set(ip, h);
    return h;
  }

  /** Runs `fn` at virtual time `at` (events at the same time run in the order they were added). */
  at(at: Millis, fn: () => void): void {
    this.queue.push({ at: Math.max(at, this.now), seq: this.seq++, run: fn });
  }

  /** Processes events in time order until none is left before `until`; the clock ends at `until`. */
  runUntil(until: Millis): void {
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.queue[0];
      if (!next || next.at > until) break;
      this.queue.shift();
      this.now = next.at;
      next.run();
    }
    this.now = until;
  }

  send(fromIp: string, fromPort: number, packet: Buffer, to: Endpoint, ttl = this.o.defaultTtl): void {
    const dropped = this.route(fromIp, fromPort, Buffer.from(packet), to, ttl);
    if (dropped) this.drops[dropped]++;
  }

  /** Schedules the delivery, or says why the packet dies. */
  private route(
    fromIp: string,
    fromPort: number,
    packet: Buffer,
    to: Endpoint,
    ttl: number,
  ): DropReason | null {
    const src = this.hosts.get(fromIp);
    if (!src) throw new Error(`no host ${fromIp}`);
    const from = { host: fromIp, port: fromPort };
    const lanPeer = this.hosts.get(to.host);
    if (src.nat && lanPeer && lanPeer.nat === src.nat) {
      this.deliver(lanPeer, packet, from, this.o.lanDelayMs);
      return null;
    }
    if (this.partitioned) return "partitioned";
    let t = ttl;
    let wireFrom = from;
    if (src.nat) {
      if (t <= 1) return "ttl";
      t--;
      wireFrom = src.nat.outbound(from, to);
      if (to.host === src.nat.spec.publicIp) {
        if (!src.nat.spec.hairpin) return "no-hairpin";
        this.arriveAtNat(src.nat, packet, wireFrom, to, 2 * this.o.lanDelayMs, t);
        return null;
      }
    }
    for (let i = 0; i < this.o.coreHops; i++) {
      if (t <= 1) return "ttl";
      t--;
    }
    if (this.lossRate > 0 && this.o.random() < this.lossRate) return "lost";
    const nat = this.natByIp.get(to.host);
    if (nat) {
      this.arriveAtNat(nat, packet, wireFrom, to, this.o.wanDelayMs, t);
      return null;
    }
    const dst = this.hosts.get(to.host);
    if (!dst || dst.nat) return "no-route";
    this.deliver(dst, packet, wireFrom, this.o.wanDelayMs);
    return null;
  }

  /**
   * The NAT sees (and may claim) a packet whatever its TTL, as conntrack does before routing; only
   * forwarding it inside needs a TTL above 1. So a primer that reaches the far NAT can do harm.
   */
  private arriveAtNat(
    nat: SimNat,
    packet: Buffer,
    from: Endpoint,
    to: Endpoint,
    delay: Millis,
    ttl: number,
  ): void {
    this.at(this.now + delay, () => {
      const inside = nat.inbound(from, to.port);
      const host = inside && this.hosts.get(inside.host);
      if (!inside || !host) this.drops.filtered++;
      else if (ttl <= 1) this.drops.ttl++;
      else this.deliver(host, packet, from, 0);
    });
  }

  private deliver(host: SimHost, packet: Buffer, from: Endpoint, delay: Millis): void {
    this.at(this.now + delay, () => {
      if (!host.receive) {
        this.drops["no-receiver"]++;
        return;
      }
      this.delivered++;
      host.receive(packet, from, this.now);
    });
  }
}
