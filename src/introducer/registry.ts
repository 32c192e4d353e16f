/**
 * Who may register (the introducer's config) and who is registered right now, per transport.
 * A peer is registered while at least one of its transports (UDP, TCP) is fresh.
 */
import { StaticBox } from "../crypto/box.js";
import { ReplayWindow } from "../crypto/replay.js";
import { type Endpoint, normalizeIp, sameEndpoint } from "../util/addr.js";
import { P2pError } from "../util/errors.js";
import type { Candidate } from "../wire/candidate.js";

export type Transport = "udp" | "tcp";

/** Where a packet came from, as the socket adapter saw it. */
export interface Source {
  endpoint: Endpoint;
  transport: Transport;
  /** The adapter's id of the TCP connection (TCP only). */
  connId?: number;
}

export interface TransportRegistration {
  /** The source endpoint seen on this transport: the public side of the peer's NAT mapping. */
  observed: Endpoint;
  connId?: number;
  lastSeen: number;
}

export interface PeerEntry {
  name: string;
  publicKey: Buffer;
  box: StaticBox;
  /** Mirrors the box's replay window so replays can be told apart from forgeries (counters). */
  replay: ReplayWindow;
  lan: Candidate[];
  tcpLocalPort?: number;
  rttMs?: number;
  udp?: TransportRegistration;
  tcp?: TransportRegistration;
}

export class IntroducerConfigError extends P2pError {}

export class PeerRegistry {
  private readonly byKey = new Map<string, PeerEntry>();
  private readonly byName = new Map<string, PeerEntry>();

  constructor(
    privateKey: Buffer,
    publicKey: Buffer,
    peers: { name: string; publicKey: Buffer }[],
    wallClockMs: number,
  ) {
    for (const p of peers) {
      const hex = p.publicKey.toString("hex");
      if (p.publicKey.length !== 32)
        throw new IntroducerConfigError("INTRODUCER_PEER_KEY", `peer ${p.name}: public key is not 32 bytes`);
      if (this.byName.has(p.name))
        throw new IntroducerConfigError("INTRODUCER_PEER_DUPLICATE", `peer ${p.name} is listed twice`);
      if (this.byKey.has(hex))
        throw new IntroducerConfigError(
          "INTRODUCER_PEER_DUPLICATE",
          `peers ${this.byKey.get(hex)!.name} and ${p.name} have the same public key`,
        );
      let box: StaticBox;
      try {
        box = new StaticBox(privateKey, publicKey, p.publicKey, "introducer", wallClockMs);
      } catch (e) {
        throw new IntroducerConfigError("INTRODUCER_PEER_KEY", `peer ${p.name}: unusable public key`, {
          cause: e,
        });
      }
      const entry: PeerEntry = {
        name: p.name,
        publicKey: p.publicKey,
        box,
        replay: new ReplayWindow(1024),
        lan: [],
      };
      this.byKey.set(hex, entry);
      this.byName.set(p.name, entry);
    }
  }

  byPublicKey(key: Buffer): PeerEntry | undefined {
    return this.byKey.get(key.toString("hex"));
  }

  named(name: string): PeerEntry | undefined {
    return this.byName.get(name);
  }

  isRegistered(p: PeerEntry): boolean {
    return p.udp !== undefined || p.tcp !== undefined;
  }

  /** Records a registration; true when it is new for this transport or its endpoint moved. */
  record(p: PeerEntry, from: Source, now: number): boolean {
    const reg: TransportRegistration = {
      observed: { host: normalizeIp(from.endpoint.host), port: from.endpoint.port },
      lastSeen: now,
    };
    if (from.transport === "tcp") reg.connId = from.connId;
    const changed = !sameEndpoint(p[from.transport]?.observed, reg.observed);
    p[from.transport] = reg;
    return changed;
  }

  /** Candidates other peers should try for `p`, as of now. */
  candidatesOf(p: PeerEntry): Candidate[] {
    const out: Candidate[] = [];
    if (p.udp) out.push({ kind: "srflx", endpoint: p.udp.observed });
    out.push(...p.lan);
    if (p.tcp) out.push({ kind: "tcp", endpoint: p.tcp.observed });
    return out;
  }

  /** How to reach `p` unprompted: over UDP when registered there, else its TCP connection. */
  routeTo(p: PeerEntry): Source | undefined {
    if (p.udp) return { endpoint: p.udp.observed, transport: "udp" };
    if (p.tcp) return { endpoint: p.tcp.observed, transport: "tcp", connId: p.tcp.connId };
    return undefined;
  }

  /** Forgets transports silent for `expiryMs`; returns the names of peers that became unregistered. */
  expire(now: number, expiryMs: number): string[] {
    const gone: string[] = [];
    for (const p of this.byKey.values()) {
      if (!this.isRegistered(p)) continue;
      if (p.udp && now - p.udp.lastSeen >= expiryMs) p.udp = undefined;
      if (p.tcp && now - p.tcp.lastSeen >= expiryMs) p.tcp = undefined;
      if (!this.isRegistered(p)) gone.push(p.name);
    }
    return gone;
  }

  /** The TCP connection closed: its registration is no longer reachable. */
  connectionClosed(connId: number): void {
    for (const p of this.byKey.values()) if (p.tcp?.connId === connId) p.tcp = undefined;
  }

  /** The earliest instant at which some registration expires, if any. */
  nextExpiry(expiryMs: number): number | undefined {
    let next: number | undefined;
    for (const p of this.byKey.values())
      for (const r of [p.udp, p.tcp])
        if (r && (next === undefined || r.lastSeen + expiryMs < next)) next = r.lastSeen + expiryMs;
    return next;
  }

  all(): IterableIterator<PeerEntry> {
    return this.byKey.values();
  }
}
