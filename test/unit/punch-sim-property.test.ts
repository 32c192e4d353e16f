/**
 * Random NAT pairs, start skews, introduction delays and loss in the simulator: the invariants of
 * an attempt hold in every run, and the outcome matches what NAT theory predicts where it is clear.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StaticBox } from "../../src/crypto/box.js";
import { generateKeyPair } from "../../src/crypto/primitives.js";
import { DiscoChannel } from "../../src/punch/disco-channel.js";
import { type SimPeer, type SimSide, twoPeerWorld } from "../../src/punch/sim/harness.js";
import { SimNetwork } from "../../src/punch/sim/network.js";

const ka = generateKeyPair();
const kb = generateKeyPair();
let boxClock = 1;
function channels(): [DiscoChannel, DiscoChannel] {
  boxClock += 1_000; // fresh counters per run, as a restarted daemon would have
  return [
    new DiscoChannel(
      new StaticBox(ka.privateKey, ka.publicKey, kb.publicKey, "disco", boxClock),
      ka.publicKey,
      kb.publicKey,
    ),
    new DiscoChannel(
      new StaticBox(kb.privateKey, kb.publicKey, ka.publicKey, "disco", boxClock),
      kb.publicKey,
      ka.publicKey,
    ),
  ];
}

/** mulberry32: a small seeded PRNG so a failing run can be replayed from its seed. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const side = fc.record({
  mapping: fc.constantFrom("endpoint-independent" as const, "endpoint-dependent" as const),
  filtering: fc.constantFrom("none" as const, "address" as const, "address-port" as const),
  remap: fc.boolean(),
  introAt: fc.integer({ min: 250, max: 600 }),
  startDelay: fc.integer({ min: 0, max: 400 }),
});
type Arb = {
  mapping: SimSide["mapping"];
  filtering: SimSide["filtering"];
  remap: boolean;
  introAt: number;
  startDelay: number;
};

const toSide = (s: Arb): SimSide => ({ ...s, startAt: s.introAt + s.startDelay });

function checkInvariants(p: SimPeer, other: SimPeer, side: SimSide) {
  // Exactly one result, within the budget of 9 s from the later of introduction and start.
  expect(p.result).toBeDefined();
  expect(p.resultAt!).toBeLessThanOrEqual(Math.max(side.introAt!, side.startAt!) + 9_000);
  // The puncher sends nothing after its result, and only a bounded number of packets.
  const punch = p.sends.filter((s) => s.by === "punch");
  expect(punch.every((s) => s.at <= p.resultAt!)).toBe(true);
  expect(punch.length).toBeLessThanOrEqual(6 * 24 + 256);
  // A connected path leads to the other peer: its NAT's public address or its LAN address.
  if (p.result?.type === "connected") {
    expect([other.ip, natIpOf(other)]).toContain(p.result.endpoint.host);
  }
}
const natIpOf = (p: SimPeer) => (p.name === "a" ? "192.0.2.10" : "203.0.113.20");

describe("punch properties over random NATs", () => {
  it("every attempt ends once, in budget, bounded, and never on a wrong address", () => {
    fc.assert(
      fc.property(side, side, fc.integer(), fc.constantFrom(0, 0.1, 0.3), (a, b, seed, loss) => {
        const net = new SimNetwork({ random: seeded(seed) });
        net.lossRate = loss;
        const w = twoPeerWorld(toSide(a), toSide(b), channels(), net);
        net.runUntil(12_000);
        checkInvariants(w.pa, w.pb, toSide(a));
        checkInvariants(w.pb, w.pa, toSide(b));
      }),
      { numRuns: 60 },
    );
  });

  it("two endpoint-independent NATs always connect, even with loss, when primers lead the peer's pings", () => {
    // A primer helps only if it leaves before the peer's first ping arrives (20 ms one way).
    fc.assert(
      fc.property(side, side, fc.integer(), fc.constantFrom(0, 0.2), (a0, b0, seed, loss) => {
        const a = { ...a0, mapping: "endpoint-independent" as const };
        const b = { ...b0, mapping: "endpoint-independent" as const };
        fc.pre(a.introAt < b.introAt + b.startDelay + 20 && b.introAt < a.introAt + a.startDelay + 20);
        const net = new SimNetwork({ random: seeded(seed) });
        net.lossRate = loss;
        const w = twoPeerWorld(toSide(a), toSide(b), channels(), net);
        net.runUntil(12_000);
        expect(w.pa.result?.type).toBe("connected");
        expect(w.pb.result?.type).toBe("connected");
      }),
      { numRuns: 60 },
    );
  });

  it("a symmetric NAT facing port-restricted filtering never connects", () => {
    fc.assert(
      fc.property(side, side, (a0, b0) => {
        const a = { ...a0, mapping: "endpoint-dependent" as const, remap: false };
        const b = { ...b0, filtering: "address-port" as const, remap: false };
        const net = new SimNetwork();
        const w = twoPeerWorld(toSide(a), toSide(b), channels(), net);
        net.runUntil(12_000);
        expect(w.pa.result?.type).toBe("failed");
        expect(w.pb.result?.type).toBe("failed");
      }),
      { numRuns: 30 },
    );
  });
});
