/**
 * Test fixtures for the introducer tests: fixed key pairs and a small discrete-event network that
 * wires an IntroducerCore to IntroducerClients with per-client one-way latency and a virtual
 * clock. Everything is deterministic (no wall-clock time, seeded randomness).
 */

import { generateKeyPair, type KeyPair } from "../../src/crypto/primitives.js";
import { IntroducerClient, type IntroducerClientOutput } from "../../src/daemon/introducer-client.js";
import { type IntroducerAction, IntroducerCore } from "../../src/introducer/core.js";
import type { Endpoint } from "../../src/util/addr.js";
import type { Candidate } from "../../src/wire/candidate.js";

export const introducerKeys: KeyPair = generateKeyPair();
export const keys: Record<"joe" | "bob" | "carol" | "mallory", KeyPair> = {
  joe: generateKeyPair(),
  bob: generateKeyPair(),
  carol: generateKeyPair(),
  mallory: generateKeyPair(),
};

/** joe, bob and carol may register; mallory is nobody the introducer knows. */
export function makeCore(): IntroducerCore {
  return new IntroducerCore({
    privateKey: introducerKeys.privateKey,
    peers: (["joe", "bob", "carol"] as const).map((name) => ({ name, publicKey: keys[name].publicKey })),
    wallClockMs: 1_700_000_000_000,
  });
}

/** A deterministic PRNG (mulberry32) for jitter. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function hostCandidate(host: string, port: number): Candidate {
  return { kind: "host", endpoint: { host, port } };
}

export interface ClientSpec {
  name: keyof typeof keys;
  /** The name the client claims in REGISTER (defaults to `name`). */
  claim?: string;
  /** Public endpoint the introducer sees for this client (its NAT mapping). */
  publicEndpoint: Endpoint;
  /** One-way delay between this client and the introducer, in ms. */
  latencyMs: number;
  /** Names of peers this client accepts (defaults to everyone but itself and mallory). */
  accepts?: string[];
  lan?: Candidate[];
  introducerPublicKey?: Buffer;
  /** Wall clock the client seeds its StaticBox counter with (a restarted daemon's is later). */
  wallClockMs?: number;
  /** Peers this client asks for as soon as it registers, as a daemon with connecting peers does. */
  introduceOnRegistered?: string[];
  /** Registers over a TCP connection (the default is UDP); a restart closes the connection. */
  tcp?: boolean;
}

export interface Node {
  spec: ClientSpec;
  client: IntroducerClient;
  events: { at: number; out: Exclude<IntroducerClientOutput, { type: "send" }> }[];
  /** While true, packets between this client and the introducer are lost (both directions). */
  cut: boolean;
  /** The id of this client's TCP connection to the introducer (when `spec.tcp`). */
  connId: number;
}

type Pending = { at: number; seq: number; run: () => void };

export class SimNet {
  now = 0;
  readonly nodes = new Map<string, Node>();
  /** Every packet the core sent, in order, with the virtual time it was sent at. */
  readonly coreSent: (IntroducerAction & { at: number })[] = [];
  private queue: Pending[] = [];
  private seq = 0;
  private nextConnId = 1;

  /** Loss and duplication on every hop, decided by `rng` (seeded: runs are reproducible). */
  lossRate = 0;
  duplicateRate = 0;
  /** Extra random delay per packet, up to this many ms (reorders packets). */
  jitterMs = 0;
  rng: () => number = seeded(42);
  /** Loses the packets it returns true for (`from`/`to` are node names or "introducer"). */
  drop: (hop: { from: string; to: string; at: number }) => boolean = () => false;

  constructor(readonly core: IntroducerCore = makeCore()) {}

  add(spec: ClientSpec): Node {
    const acceptNames = spec.accepts ?? ["joe", "bob", "carol"].filter((n) => n !== spec.name);
    const client = new IntroducerClient({
      name: spec.claim ?? spec.name,
      privateKey: keys[spec.name].privateKey,
      introducerPublicKey: spec.introducerPublicKey ?? introducerKeys.publicKey,
      lanCandidates: spec.lan ?? [],
      accepts: (pk) => acceptNames.find((n) => keys[n as keyof typeof keys].publicKey.equals(pk)) ?? null,
      wallClockMs: spec.wallClockMs ?? 1_700_000_000_000,
      random: seeded(spec.publicEndpoint.port),
    });
    const node: Node = { spec, client, events: [], cut: false, connId: this.nextConnId++ };
    this.nodes.set(spec.name, node);
    return node;
  }

  /**
   * The daemon restarts: a fresh client (fresh state, a later wall clock so its box counters are
   * newer) behind a new public endpoint (its NAT maps the new socket to a new port). The
   * introducer still holds its old registration until the new client registers. Packets in
   * flight to the old endpoint are lost. Call `start(name)` when the new daemon starts.
   */
  restart(name: string, publicEndpoint: Endpoint): Node {
    const old = this.node(name);
    const wallClockMs = (old.spec.wallClockMs ?? 1_700_000_000_000) + 60_000 + this.now;
    this.stop(name);
    const node = this.add({ ...old.spec, publicEndpoint, wallClockMs });
    return node;
  }

  /** The daemon stops: its socket is gone (over TCP, the introducer sees the connection close). */
  stop(name: string): void {
    const node = this.node(name);
    node.cut = true;
    if (node.spec.tcp) this.core.connectionClosed(node.connId);
  }

  node(name: string): Node {
    return this.nodes.get(name)!;
  }

  /** Feeds a client's outputs: packets go on the wire, events are recorded. */
  fromClient(node: Node, outs: IntroducerClientOutput[]): void {
    for (const o of outs) {
      if (o.type !== "send") {
        node.events.push({ at: this.now, out: o });
        if (o.type === "registered" && this.node(node.spec.name) === node)
          for (const peer of node.spec.introduceOnRegistered ?? [])
            this.fromClient(node, node.client.introduce(peer, this.now));
        continue;
      }
      if (node.cut) continue;
      const from = node.spec.tcp
        ? { endpoint: node.spec.publicEndpoint, transport: "tcp" as const, connId: node.connId }
        : { endpoint: node.spec.publicEndpoint, transport: "udp" as const };
      const hop = { from: node.spec.name, to: "introducer", at: this.now };
      this.transmit(hop, node.spec.latencyMs, () =>
        this.fromCore(this.core.handle(o.packet, from, this.now)),
      );
    }
  }

  fromCore(actions: IntroducerAction[]): void {
    for (const a of actions) {
      this.coreSent.push({ ...a, at: this.now });
      const node = [...this.nodes.values()].find(
        (n) =>
          n.spec.publicEndpoint.host === a.to.host &&
          n.spec.publicEndpoint.port === a.to.port &&
          (a.connId === undefined || a.connId === n.connId),
      );
      if (!node || node.cut) continue;
      const hop = { from: "introducer", to: node.spec.name, at: this.now };
      this.transmit(hop, node.spec.latencyMs, () =>
        this.fromClient(node, node.client.handle(a.packet, this.now)),
      );
    }
  }

  start(name: string): void {
    const n = this.node(name);
    this.fromClient(n, n.client.start(this.now));
  }

  introduce(from: string, to: string): void {
    const n = this.node(from);
    this.fromClient(n, n.client.introduce(to, this.now));
  }

  /** Runs deliveries and timers until virtual time `until`. */
  runUntil(until: number): void {
    for (;;) {
      let next = Number.POSITIVE_INFINITY;
      let what: (() => void) | undefined;
      this.queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
      if (this.queue.length > 0) {
        next = this.queue[0].at;
        what = () => this.queue.shift()!.run();
      }
      const coreAt = this.core.nextTimer();
      if (coreAt !== undefined && coreAt < next) {
        next = coreAt;
        what = () => this.fromCore(this.core.tick(this.now));
      }
      for (const n of this.nodes.values()) {
        const t = n.client.nextTimer();
        if (t !== undefined && t < next) {
          next = t;
          what = () => this.fromClient(n, n.client.tick(this.now));
        }
      }
      if (next > until || what === undefined) break;
      this.now = Math.max(this.now, next);
      what();
    }
    this.now = until;
  }

  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  eventsOf(name: string, type: string) {
    return this.node(name).events.filter((e) => e.out.type === type);
  }

  /** Puts a packet on the wire: maybe lost, maybe duplicated, delayed by latency + jitter. */
  private transmit(
    hop: { from: string; to: string; at: number },
    latencyMs: number,
    deliver: () => void,
  ): void {
    if (this.rng() < this.lossRate || this.drop(hop)) return;
    const copies = this.rng() < this.duplicateRate ? 2 : 1;
    for (let i = 0; i < copies; i++) this.at(this.now + latencyMs + this.rng() * this.jitterMs, deliver);
  }

  private at(at: number, run: () => void): void {
    this.queue.push({ at, seq: this.seq++, run });
  }
}
