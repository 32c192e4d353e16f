/**
 * Two SessionManagers over a simulated network that loses, duplicates and reorders packets and
 * sometimes rebinds one side's NAT, for several minutes of virtual time (several rekeys), with a
 * seeded random schedule. Safety: nothing is delivered twice or made up, keys never disagree
 * (no decryption failure ever). Liveness: once the network behaves, data flows both ways again.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_SESSION_TIMINGS as T } from "../../src/crypto/noise/session-constants.js";
import { generateKeyPair } from "../../src/crypto/primitives.js";
import { Net, type Node, ofType } from "./session-harness.js";

const deliveredTo = (n: Node) => ofType(n.events, "deliver").map((d) => d.payload.toString());

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Scenario {
  seed: number;
  loss: number;
  dup: number;
  simultaneous: boolean;
  rebinds: boolean;
}

function simulate(sc: Scenario) {
  const rnd = prng(sc.seed);
  const net = new Net();
  const ka = generateKeyPair();
  const kb = generateKeyPair();
  const a = net.add("a", ka, [kb.publicKey], { host: "198.51.100.1", port: 1000 });
  const b = net.add("b", kb, [ka.publicKey], { host: "203.0.113.2", port: 2000 });
  const sent = new Set<string>();
  let seq = 0;
  const send = (from: Node, to: Node) => {
    const msg = `${from.name}:${seq++}`;
    sent.add(msg);
    net.send(from, to, Buffer.from(msg));
  };
  // The network: lose, duplicate, and shuffle what is in flight before each delivery round.
  let lossy = true;
  const deliverRound = () => {
    const batch = net.capture().flatMap((p) => (lossy && rnd() < sc.dup ? [p, p] : [p]));
    for (let i = batch.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [batch[i], batch[j]] = [batch[j], batch[i]];
    }
    net.inFlight = batch.filter(() => !lossy || rnd() >= sc.loss);
    net.run();
  };

  net.connect(a, b);
  if (sc.simultaneous) net.connect(b, a);
  const end = 2.5 * T.rekeyAfterMs;
  while (net.now < end) {
    if (rnd() < 0.6) send(a, b);
    if (rnd() < 0.6) send(b, a);
    if (sc.rebinds && rnd() < 0.01) a.addr = { host: "198.51.100.1", port: 1000 + Math.floor(rnd() * 60000) };
    deliverRound();
    const t = net.now + Math.floor(rnd() * 2000);
    for (const n of [a, b]) {
      const due = n.mgr.nextTimer();
      if (due !== undefined && due <= t) {
        net.now = Math.max(net.now, due);
        net.tick(n);
      }
    }
    net.now = t;
  }

  // The network heals. The session layer does not retransmit data (the reliable channel above it
  // does), so each side re-sends a fresh final message every second until one gets through.
  lossy = false;
  const gotFinal = (n: Node, from: string) => deliveredTo(n).some((m) => m.startsWith(`${from}:final`));
  for (let i = 0; i < 30 && !(gotFinal(a, "b") && gotFinal(b, "a")); i++) {
    for (const [from, to] of [
      [a, b],
      [b, a],
    ]) {
      const msg = `${from.name}:final:${i}`;
      sent.add(msg);
      net.send(from, to, Buffer.from(msg));
    }
    net.run();
    net.advanceTo(net.now + 1000);
  }
  return { a, b, sent, healed: gotFinal(a, "b") && gotFinal(b, "a") };
}

describe("SessionManager over a lossy, reordering, duplicating network", () => {
  it("is safe and recovers", () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer(),
          loss: fc.constantFrom(0, 0.05, 0.3, 0.6),
          dup: fc.constantFrom(0, 0.1),
          simultaneous: fc.boolean(),
          rebinds: fc.boolean(),
        }),
        (sc) => {
          const { a, b, sent, healed } = simulate(sc);
          for (const [n, other] of [
            [a, "b"],
            [b, "a"],
          ] as const) {
            const got = deliveredTo(n);
            expect(new Set(got).size).toBe(got.length); // never twice
            for (const m of got) {
              expect(sent.has(m)).toBe(true); // never made up
              expect(m.startsWith(`${other}:`)).toBe(true);
            }
            expect(n.mgr.counters.decryptFail).toBe(0);
            expect(n.mgr.counters.malformed).toBe(0);
          }
          if (sc.loss === 0 && !sc.rebinds) {
            // a perfect network (reordering and duplicates aside) loses nothing, even across rekeys
            expect(deliveredTo(b).length).toBe([...sent].filter((m) => m.startsWith("a:")).length);
            expect(deliveredTo(a).length).toBe([...sent].filter((m) => m.startsWith("b:")).length);
          }
          expect(healed).toBe(true);
        },
      ),
      { numRuns: 12 },
    );
  });
});
