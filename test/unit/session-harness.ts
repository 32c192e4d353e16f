/**
 * An in-memory network for SessionManager tests: each node has an address it sends from (which a
 * test may change, like a NAT rebinding), packets queue in flight and are delivered on `run`,
 * where a test can drop or capture them. Non-send actions are recorded per node.
 */

import type { SessionTimings } from "../../src/crypto/noise/session-constants.js";
import { type SessionAction, SessionManager } from "../../src/crypto/noise/session-manager.js";
import { generateKeyPair, type KeyPair } from "../../src/crypto/primitives.js";
import type { Endpoint } from "../../src/util/addr.js";
import { joinDatagram } from "../../src/wire/datagram.js";

export interface Node {
  name: string;
  keys: KeyPair;
  id: string;
  mgr: SessionManager;
  /** Where this node's packets appear to come from. */
  addr: Endpoint;
  events: SessionAction[];
}

export interface InFlight {
  from: Node;
  src: Endpoint;
  to: Endpoint;
  packet: Buffer;
}

/** Two key pairs ordered by public key, for tie-break tests. */
export function orderedKeyPairs(): [low: KeyPair, high: KeyPair] {
  const a = generateKeyPair();
  const b = generateKeyPair();
  return Buffer.compare(a.publicKey, b.publicKey) < 0 ? [a, b] : [b, a];
}

export class Net {
  now = 0;
  wall = 1_700_000_000_000;
  readonly nodes: Node[] = [];
  inFlight: InFlight[] = [];
  /** Return false to drop a packet as it would be delivered. */
  filter: (p: InFlight) => boolean = () => true;

  add(name: string, keys: KeyPair, peers: Buffer[], addr: Endpoint, timings?: Partial<SessionTimings>): Node {
    const mgr = new SessionManager({
      privateKey: keys.privateKey,
      peers,
      now: this.now,
      timings,
      random: () => 0.5,
      wallClockMs: () => this.wall + this.now,
    });
    const node: Node = { name, keys, id: keys.publicKey.toString("base64"), mgr, addr, events: [] };
    this.nodes.push(node);
    return node;
  }

  /** Puts `send` actions in flight and records the rest; then prepares ciphers, as SessionPump does. */
  take(node: Node, actions: SessionAction[]): void {
    for (const a of actions) {
      if (a.type === "send")
        this.inFlight.push({ from: node, src: { ...node.addr }, to: a.to, packet: joinDatagram(a.packet) });
      else node.events.push(a);
    }
    node.mgr.prepareNext();
  }

  nodeAt(e: Endpoint): Node | undefined {
    return this.nodes.find((n) => n.addr.host === e.host && n.addr.port === e.port);
  }

  /** Delivers packets until none are left in flight; returns what was delivered. */
  run(maxSteps = 1000): InFlight[] {
    const delivered: InFlight[] = [];
    for (let i = 0; i < maxSteps && this.inFlight.length > 0; i++) {
      const p = this.inFlight.shift() as InFlight;
      const dst = this.nodeAt(p.to);
      if (!dst || !this.filter(p)) continue;
      delivered.push(p);
      this.take(dst, dst.mgr.handle(p.packet, p.src, this.now));
    }
    return delivered;
  }

  /** Removes and returns everything in flight without delivering it. */
  capture(): InFlight[] {
    const c = this.inFlight;
    this.inFlight = [];
    return c;
  }

  connect(a: Node, b: Node): void {
    this.take(a, a.mgr.connect(b.keys.publicKey, b.addr, this.now));
  }

  send(a: Node, b: Node, payload: Buffer): void {
    this.take(a, a.mgr.send(b.keys.publicKey, payload, this.now));
  }

  tick(...nodes: Node[]): void {
    for (const n of nodes) this.take(n, n.mgr.tick(this.now));
  }

  /** Advances the clock to `t`, ticking every node at each timer it asked for on the way. */
  advanceTo(t: number): void {
    for (let guard = 0; guard < 10_000; guard++) {
      const due = this.nodes
        .map((n) => n.mgr.nextTimer())
        .filter((x): x is number => x !== undefined && x <= t)
        .sort((x, y) => x - y)[0];
      if (due === undefined) break;
      this.now = Math.max(this.now, due);
      for (const n of this.nodes) this.take(n, n.mgr.tick(this.now));
      this.run();
    }
    this.now = t;
  }
}

export const ofType = <T extends SessionAction["type"]>(events: SessionAction[], type: T) =>
  events.filter((e): e is Extract<SessionAction, { type: T }> => e.type === type);

export const packetType = (p: InFlight): number => p.packet[0];

export function sumCounters(c: Record<string, number>): number {
  return Object.values(c).reduce((a, b) => a + b, 0);
}
