/**
 * A NAT model for the in-memory network simulator (tests of the puncher; deterministic, no I/O).
 * It implements the behaviours of RFC 4787 that decide whether hole punching works:
 *
 *   mapping    endpoint-independent: one public port per internal socket, whatever the
 *              destination (port-preserving, like Linux masquerade); endpoint-dependent: a fresh
 *              port per destination (a "symmetric NAT", like masquerade fully-random)
 *   filtering  none: anything reaching a mapped port passes; address: only from IPs the socket
 *              has sent to; address-port: only from exact endpoints it has sent to
 *   remapOnUnsolicited  Linux's own input accepts the unsolicited packet and keeps a conntrack
 *              entry for it; when the internal host later sends to that remote, the tuple is taken
 *              and the NAT picks another public port for that destination (the race the short-TTL
 *              primer avoids)
 *   hairpin    whether a packet from inside to the NAT's own public address is looped back
 */
import type { Endpoint } from "../../util/addr.js";

export type SimMapping = "endpoint-independent" | "endpoint-dependent";
export type SimFiltering = "none" | "address" | "address-port";

export interface NatSpec {
  publicIp: string;
  mapping: SimMapping;
  filtering: SimFiltering;
  remapOnUnsolicited?: boolean;
  hairpin?: boolean;
}

const key = (e: Endpoint) => `${e.host}:${e.port}`;

export class SimNat {
  readonly counters = { out: 0, inPassed: 0, inFiltered: 0, inNoMapping: 0, inLocal: 0, remapped: 0 };
  /** Every packet that arrived from outside, before filtering: [from, public port]. */
  readonly arrivals: Array<{ from: Endpoint; port: number }> = [];
  private readonly mappings = new Map<string, number>();
  private readonly owners = new Map<number, Endpoint>();
  private readonly contacted = new Map<number, Set<string>>();
  /** Tuples (public port, remote) that the NAT's own input has claimed. */
  private readonly claimed = new Set<string>();
  private nextPort = 40_000;

  constructor(readonly spec: NatSpec) {}

  /** Translates an outgoing packet's source; returns the public source endpoint. */
  outbound(from: Endpoint, to: Endpoint): Endpoint {
    this.counters.out++;
    const perDest = `${key(from)}>${key(to)}`;
    let port = this.mappings.get(perDest);
    if (port === undefined) {
      if (this.spec.mapping === "endpoint-independent") {
        port = this.mappings.get(key(from));
        if (port === undefined) {
          port = this.allocate(from, from.port);
          this.mappings.set(key(from), port);
        }
      } else {
        port = this.allocate(from);
        this.mappings.set(perDest, port);
      }
      if (this.claimed.has(`${port}|${key(to)}`)) {
        // The tuple belongs to the NAT's own conntrack entry: take another port for this destination.
        port = this.allocate(from);
        this.mappings.set(perDest, port);
        this.counters.remapped++;
      } else if (this.spec.mapping === "endpoint-independent") {
        this.mappings.set(perDest, port);
      }
    }
    const sent = this.contacted.get(port) ?? new Set<string>();
    sent.add(key(to));
    this.contacted.set(port, sent);
    return { host: this.spec.publicIp, port };
  }

  /** Filters an incoming packet; returns the internal destination, or null when dropped. */
  inbound(from: Endpoint, port: number): Endpoint | null {
    this.arrivals.push({ from, port });
    const tuple = `${port}|${key(from)}`;
    if (this.claimed.has(tuple)) {
      this.counters.inLocal++;
      return null;
    }
    const owner = this.owners.get(port);
    const sent = this.contacted.get(port);
    const passes =
      owner !== undefined &&
      (this.spec.filtering === "none" ||
        (this.spec.filtering === "address" && [...(sent ?? [])].some((k) => k.startsWith(`${from.host}:`))) ||
        (this.spec.filtering === "address-port" && !!sent?.has(key(from))));
    if (passes) {
      this.counters.inPassed++;
      return owner;
    }
    if (owner === undefined) this.counters.inNoMapping++;
    else this.counters.inFiltered++;
    if (this.spec.remapOnUnsolicited) this.claimed.add(tuple);
    return null;
  }

  /** The public port of an internal socket towards a destination, if mapped (for assertions). */
  mappedPort(from: Endpoint, to: Endpoint): number | undefined {
    return this.mappings.get(`${key(from)}>${key(to)}`);
  }

  private allocate(owner: Endpoint, preferred?: number): number {
    let port = preferred;
    if (port === undefined || this.owners.has(port)) {
      while (this.owners.has(this.nextPort)) this.nextPort++;
      port = this.nextPort++;
    }
    this.owners.set(port, owner);
    return port;
  }
}
