import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StaticBox } from "../../src/crypto/box.js";
import { generateKeyPair } from "../../src/crypto/primitives.js";
import { IntroducerClient } from "../../src/daemon/introducer-client.js";
import {
  INTRO_REGISTRATION_WAIT_MS,
  MAX_PENDING_PER_REQUESTER,
  MAX_TRACKED_SOURCES,
  RATE_BUCKET_CAPACITY,
  REGISTRATION_EXPIRY_MS,
} from "../../src/introducer/constants.js";
import { IntroducerCore, type IntroducerEvent, type Source } from "../../src/introducer/core.js";
import {
  INTRODUCER_PROTOCOL_VERSION,
  IntroducerPacketType,
  openIntroducerPacket,
  parseIntroducerPacket,
  sealIntroducerPacket,
} from "../../src/wire/introducer.js";
import { hostCandidate, introducerKeys, keys, makeCore, SimNet } from "./introducer-fixtures.js";

const JOE_PUBLIC = { host: "198.51.100.7", port: 40001 };
const BOB_PUBLIC = { host: "203.0.113.9", port: 50002 };
const CAROL_PUBLIC = { host: "192.0.2.33", port: 60003 };
const udpFrom = (endpoint = JOE_PUBLIC): Source => ({ endpoint, transport: "udp" });

function twoPeers(opts: { bobAccepts?: string[]; joeLatency?: number; bobLatency?: number } = {}) {
  const net = new SimNet();
  net.add({
    name: "joe",
    publicEndpoint: JOE_PUBLIC,
    latencyMs: opts.joeLatency ?? 10,
    lan: [hostCandidate("10.0.0.5", 4000)],
  });
  net.add({
    name: "bob",
    publicEndpoint: BOB_PUBLIC,
    latencyMs: opts.bobLatency ?? 40,
    lan: [hostCandidate("192.168.1.20", 4000), hostCandidate("fd00::20", 4000)],
    accepts: opts.bobAccepts,
  });
  net.start("joe");
  net.start("bob");
  return net;
}

/** A REGISTER packet from a fresh client of `name` (claiming `claim`). */
function registerPacket(name: keyof typeof keys, claim: string = name): Buffer {
  const c = new IntroducerClient({
    name: claim,
    privateKey: keys[name].privateKey,
    introducerPublicKey: introducerKeys.publicKey,
    lanCandidates: [],
    accepts: () => null,
    wallClockMs: 1_700_000_000_000,
  });
  const out = c.start(0);
  if (out[0].type !== "send") throw new Error("expected a packet");
  return out[0].packet;
}

describe("IntroducerCore registration", () => {
  it("registers configured peers and reports the endpoint it observed", () => {
    const net = twoPeers();
    net.runFor(1000);
    expect(net.eventsOf("joe", "registered").map((e) => e.out)).toEqual([
      { type: "registered", observed: JOE_PUBLIC, changed: false, rttMs: 20 },
    ]);
    expect(net.eventsOf("bob", "registered")[0].out).toMatchObject({ observed: BOB_PUBLIC, rttMs: 80 });
    const stats = net.core.stats(net.now);
    expect(stats.registered.map((p) => [p.name, p.udp?.observed, p.lan])).toEqual([
      ["joe", "198.51.100.7:40001", ["10.0.0.5:4000"]],
      ["bob", "203.0.113.9:50002", ["192.168.1.20:4000", "[fd00::20]:4000"]],
    ]);
    // Each daemon registers again at once to report the RTT its first exchange measured.
    expect(net.core.counters().registrations).toBe(4);
    expect(stats.registered.map((p) => p.rttMs)).toEqual([20, 80]);
  });

  it("refuses a daemon of another protocol version with a reason naming both versions", () => {
    const core = makeCore();
    const joeBox = new StaticBox(
      keys.joe.privateKey,
      keys.joe.publicKey,
      introducerKeys.publicKey,
      "introducer",
      1e12,
    );
    // Only the txid and the version of such a REGISTER are read: the rest may be laid out anew.
    const packet = sealIntroducerPacket(joeBox, keys.joe.publicKey, {
      type: "register",
      txid: 77,
      version: INTRODUCER_PROTOCOL_VERSION + 1,
      name: "joe",
      lanCandidates: [],
    });
    const [answer] = core.handle(packet, udpFrom(), 0);
    const opened = openIntroducerPacket(joeBox, parseIntroducerPacket(answer.packet)!);
    expect(opened).toEqual({
      ok: true,
      msg: {
        type: "refused",
        txid: 77,
        code: "VERSION",
        reason: `this introducer speaks introducer protocol ${INTRODUCER_PROTOCOL_VERSION}, this daemon ${INTRODUCER_PROTOCOL_VERSION + 1}: run the same p2ptun release on both`,
      },
    });
    expect(core.stats(0).registered).toEqual([]);
  });

  it("refuses a key that claims another peer's name, and does not register it", () => {
    const net = new SimNet();
    net.add({ name: "joe", claim: "bob", publicEndpoint: JOE_PUBLIC, latencyMs: 5 });
    net.start("joe");
    net.runFor(1000);
    expect(net.eventsOf("joe", "refused").map((e) => e.out)).toEqual([
      {
        type: "refused",
        request: "register",
        code: "NAME_MISMATCH",
        reason: 'this key is configured as "joe" on this introducer, not "bob"',
      },
    ]);
    expect(net.core.stats(net.now).registered).toEqual([]);
    // A refused client asks again only after a long pause (the config may get fixed meanwhile).
    net.runFor(2 * 60_000);
    const refusedAt = net.coreSent.map((a) => a.at);
    expect(refusedAt.length).toBeGreaterThanOrEqual(2);
    expect(refusedAt[1] - refusedAt[0]).toBeGreaterThanOrEqual(60_000);
  });

  it("forgets peers that stop refreshing, and keeps those that refresh", () => {
    const net = twoPeers();
    net.runFor(1000);
    net.node("joe").cut = true;
    net.runFor(REGISTRATION_EXPIRY_MS + 1000);
    expect(net.core.stats(net.now).registered.map((p) => p.name)).toEqual(["bob"]);
    expect(net.core.counters().expired).toBe(1);
    net.runFor(5 * 60_000);
    expect(net.core.stats(net.now).registered.map((p) => p.name)).toEqual(["bob"]);
    net.introduce("bob", "joe");
    net.runFor(INTRO_REGISTRATION_WAIT_MS + 1000);
    expect(net.eventsOf("bob", "refused")[0].out).toMatchObject({
      code: "PEER_NOT_REGISTERED",
      reason: "joe is not registered with this introducer",
    });
  });

  it("drops a replayed REGISTER without answering", () => {
    const core = makeCore();
    const packet = registerPacket("joe");
    expect(core.handle(packet, udpFrom(), 0)).toHaveLength(1);
    expect(core.handle(packet, udpFrom(), 1)).toEqual([]);
    expect(core.handle(Buffer.from(packet), udpFrom({ host: "192.0.2.1", port: 9 }), 2)).toEqual([]);
    expect(core.counters().replayed).toBe(2);
  });

  it("registers over TCP too: answers on the connection, offers the TCP endpoint as a candidate", () => {
    const core = makeCore();
    const tcpFrom: Source = {
      endpoint: { host: "::ffff:203.0.113.9", port: 50100 },
      transport: "tcp",
      connId: 7,
    };
    const [reply] = core.handle(registerPacket("bob"), tcpFrom, 0);
    expect(reply).toMatchObject({ transport: "tcp", connId: 7, to: tcpFrom.endpoint });
    expect(core.stats(0).registered[0].tcp?.observed).toBe("203.0.113.9:50100");
    core.connectionClosed(7);
    expect(core.stats(0).registered).toEqual([]);
  });
});

describe("IntroducerCore introductions", () => {
  it("introduces two registered peers: both get the other's candidates and the same start instant", () => {
    const net = twoPeers({ joeLatency: 10, bobLatency: 40 });
    net.runFor(20_000); // past one refresh, so both REGISTERs have reported a measured RTT
    net.introduce("joe", "bob");
    net.runFor(3000);
    const [joeIntro] = net.eventsOf("joe", "introduction").map((e) => e.out);
    const [bobIntro] = net.eventsOf("bob", "introduction").map((e) => e.out);
    expect(joeIntro).toMatchObject({
      peerName: "bob",
      initiator: true,
      candidates: [
        { kind: "srflx", endpoint: BOB_PUBLIC },
        hostCandidate("192.168.1.20", 4000),
        hostCandidate("fd00::20", 4000),
      ],
    });
    expect(bobIntro).toMatchObject({
      peerName: "joe",
      initiator: false,
      candidates: [{ kind: "srflx", endpoint: JOE_PUBLIC }, hostCandidate("10.0.0.5", 4000)],
    });
    if (joeIntro.type !== "introduction" || bobIntro.type !== "introduction") throw new Error("unreachable");
    expect(joeIntro.peerPublicKey.equals(keys.bob.publicKey)).toBe(true);
    expect(bobIntro.peerPublicKey.equals(keys.joe.publicKey)).toBe(true);
    expect(Math.abs(joeIntro.startAt - bobIntro.startAt)).toBeLessThanOrEqual(1);
    const joeGotIt = net.eventsOf("joe", "introduction")[0].at;
    expect(joeIntro.startAt).toBeGreaterThan(joeGotIt);
    expect(net.core.counters()).toMatchObject({ introductionsStarted: 1, introductionsCompleted: 1 });
    expect(net.core.counters().pendingIntroductions).toBe(0);
  });

  it("start instants coincide for any pair of latencies", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 300 }), (a, b) => {
        const net = twoPeers({ joeLatency: a, bobLatency: b });
        net.runFor(20_000);
        net.introduce("joe", "bob");
        net.runFor(5000);
        const [j] = net.eventsOf("joe", "introduction");
        const [o] = net.eventsOf("bob", "introduction");
        if (j?.out.type !== "introduction" || o?.out.type !== "introduction")
          throw new Error("no introduction");
        expect(Math.abs(j.out.startAt - o.out.startAt)).toBeLessThanOrEqual(1);
        expect(Math.min(j.out.startAt - j.at, o.out.startAt - o.at)).toBeGreaterThan(0);
      }),
      { numRuns: 25 },
    );
  });

  it("repeats an introduction the target did not acknowledge; the repeat keeps the start instant", () => {
    const net = twoPeers();
    net.runFor(20_000);
    net.node("bob").cut = true;
    net.introduce("joe", "bob");
    net.runFor(300); // the first INTRODUCTION to bob is lost
    net.node("bob").cut = false;
    net.runFor(3000);
    const [j] = net.eventsOf("joe", "introduction");
    const [o] = net.eventsOf("bob", "introduction");
    if (j?.out.type !== "introduction" || o?.out.type !== "introduction") throw new Error("no introduction");
    expect(Math.abs(j.out.startAt - o.out.startAt)).toBeLessThanOrEqual(1);
    expect(net.core.counters().introductionRepeats).toBeGreaterThanOrEqual(1);
    expect(net.eventsOf("bob", "introduction")).toHaveLength(1);
  });

  it("tells the requester a moved start instant only once the target acknowledged that one", () => {
    // bob's round trip (500 ms) is longer than the repeat interval. His ACKs of the first three
    // copies (0, 400, 800 ms) are lost, so the fourth (1200 ms) moves T; that copy is lost, and
    // the ACK of the third (naming the old T) arrives after the move. Told the new T then, joe
    // would start ~1.5 s after bob; the introducer waits for bob to acknowledge the new T.
    const net = twoPeers({ joeLatency: 1, bobLatency: 250 });
    net.runFor(20_000);
    const t0 = net.now;
    net.drop = ({ from, to, at }) =>
      (from === "bob" && at < t0 + 1000) || (to === "bob" && at > t0 + 1190 && at < t0 + 1210);
    net.introduce("joe", "bob");
    net.runFor(5000);
    const [j] = net.eventsOf("joe", "introduction");
    const [b] = net.eventsOf("bob", "introduction");
    const retimed = net.eventsOf("bob", "retimed");
    if (j?.out.type !== "introduction" || b?.out.type !== "introduction") throw new Error("no introduction");
    expect(retimed).toHaveLength(1);
    const bobStart = retimed[0].out.type === "retimed" ? retimed[0].out.startAt : b.out.startAt;
    expect(bobStart - b.out.startAt).toBeGreaterThan(1000); // bob did follow the moved T
    expect(Math.abs(j.out.startAt - bobStart)).toBeLessThanOrEqual(1);
    expect(j.at).toBeLessThan(j.out.startAt); // and joe heard in time
    expect(net.core.counters()).toMatchObject({ outdatedAcks: 1, introductionsRetimed: 1 });
  });

  it("serves crossing requests (both ask at once) with one introduction", () => {
    const net = twoPeers({ joeLatency: 10, bobLatency: 40 });
    net.runFor(20_000);
    net.introduce("joe", "bob");
    net.introduce("bob", "joe");
    net.runFor(10_000);
    const [j] = net.eventsOf("joe", "introduction");
    const [o] = net.eventsOf("bob", "introduction");
    if (j?.out.type !== "introduction" || o?.out.type !== "introduction") throw new Error("no introduction");
    expect(net.eventsOf("joe", "introduction")).toHaveLength(1);
    expect(net.eventsOf("bob", "introduction")).toHaveLength(1);
    expect(j.out.introId).toBe(o.out.introId);
    expect(Math.abs(j.out.startAt - o.out.startAt)).toBeLessThanOrEqual(1);
    expect([...net.eventsOf("joe", "refused"), ...net.eventsOf("bob", "refused")]).toEqual([]);
    expect(net.core.counters()).toMatchObject({ introductionsStarted: 1, introductionsMerged: 1 });
  });

  it("reports registrations, refusals, introductions and expiries as events for the log", () => {
    const events: IntroducerEvent[] = [];
    const core = new IntroducerCore({
      privateKey: introducerKeys.privateKey,
      peers: (["joe", "bob"] as const).map((name) => ({ name, publicKey: keys[name].publicKey })),
      wallClockMs: 0,
      onEvent: (e) => events.push(e),
    });
    const net = new SimNet(core);
    net.add({ name: "joe", publicEndpoint: JOE_PUBLIC, latencyMs: 5 });
    net.add({ name: "bob", publicEndpoint: BOB_PUBLIC, latencyMs: 5 });
    net.start("joe");
    net.start("bob");
    net.runFor(1000);
    net.introduce("joe", "bob");
    net.introduce("joe", "dave");
    net.runFor(20_000);
    net.node("bob").cut = true;
    net.runFor(REGISTRATION_EXPIRY_MS + 1000);
    const summary = events
      .filter((e) => e.type !== "registered" || e.changed)
      .map((e) => ("name" in e ? `${e.type} ${e.name}` : `${e.type} ${e.requester}->${e.target}`));
    expect(summary).toEqual([
      "registered joe",
      "registered bob",
      "refused joe",
      "introduced joe->bob",
      "expired bob",
    ]);
    expect(events.filter((e) => e.type === "registered" && !e.changed).length).toBeGreaterThan(0);
  });

  it("answers a late repeat of a finished INTRODUCE again, without introducing the target twice", () => {
    const net = twoPeers({ joeLatency: 10, bobLatency: 10 });
    net.runFor(20_000);
    net.introduce("joe", "bob");
    net.runFor(25);
    net.node("joe").cut = true; // every INTRODUCTION to joe is lost; the introducer gives up on joe
    net.runFor(2500);
    expect(net.core.counters().pendingIntroductions).toBe(0);
    net.node("joe").cut = false; // joe's next INTRODUCE repeat (same txid) gets through
    net.runFor(10_000);
    expect(net.eventsOf("joe", "introduction")).toHaveLength(1);
    expect(net.eventsOf("bob", "introduction")).toHaveLength(1);
    expect(net.core.counters()).toMatchObject({ introductionsStarted: 1, introductionsCompleted: 0 });
  });

  it("refuses unknown and unregistered peers, and introductions to oneself", () => {
    const net = twoPeers();
    net.runFor(1000);
    net.introduce("joe", "dave");
    net.introduce("joe", "carol");
    net.introduce("joe", "joe");
    net.runFor(1000);
    // carol is configured: the introducer waits a while for her to register before refusing.
    expect(net.eventsOf("joe", "refused").map((e) => e.out)).toEqual([
      {
        type: "refused",
        request: "introduce",
        peerName: "dave",
        code: "PEER_UNKNOWN",
        reason: 'no peer named "dave" is configured on this introducer',
      },
      {
        type: "refused",
        request: "introduce",
        peerName: "joe",
        code: "SELF",
        reason: "joe asked to be introduced to itself",
      },
    ]);
    net.runFor(INTRO_REGISTRATION_WAIT_MS);
    expect(net.eventsOf("joe", "refused").map((e) => e.out)[2]).toEqual({
      type: "refused",
      request: "introduce",
      peerName: "carol",
      code: "PEER_NOT_REGISTERED",
      reason: "carol is not registered with this introducer",
    });
    expect(net.core.counters().pendingIntroductions).toBe(0);
  });

  it("relays the target's refusal as NOT_ACCEPTED and never reveals the target's addresses", () => {
    const net = twoPeers({ bobAccepts: ["carol"] });
    net.runFor(1000);
    net.introduce("joe", "bob");
    net.runFor(3000);
    expect(net.eventsOf("joe", "refused").map((e) => e.out)).toEqual([
      {
        type: "refused",
        request: "introduce",
        peerName: "bob",
        code: "NOT_ACCEPTED",
        reason: "bob does not accept connections from joe",
      },
    ]);
    expect(net.eventsOf("bob", "declined")[0].out).toMatchObject({ peerName: "joe" });
    expect(net.eventsOf("bob", "introduction")).toEqual([]);
    const toJoe = net.coreSent.filter((a) => a.to.port === JOE_PUBLIC.port);
    expect(toJoe.some((a) => a.packet[0] === IntroducerPacketType.INTRODUCTION)).toBe(false);
    expect(net.core.counters().introductionsDeclined).toBe(1);
  });

  it("refuses with PEER_UNREACHABLE when the target never acknowledges", () => {
    const net = twoPeers();
    net.runFor(1000);
    net.node("bob").cut = true;
    net.introduce("joe", "bob");
    net.runFor(5000);
    // The introducer keeps trying the target for ~6 s (it may be restarting) before it refuses.
    expect(net.eventsOf("joe", "refused")).toEqual([]);
    net.runFor(3000);
    expect(net.eventsOf("joe", "refused").map((e) => e.out)).toEqual([
      {
        type: "refused",
        request: "introduce",
        peerName: "bob",
        code: "PEER_UNREACHABLE",
        reason: "bob did not answer the introduction",
      },
    ]);
  });

  it("refuses with BUSY once a requester has too many introductions in progress", () => {
    const crowd = Array.from({ length: MAX_PENDING_PER_REQUESTER + 1 }, (_, i) => ({
      name: `p${i}`,
      ...generateKeyPair(),
    }));
    const core = new IntroducerCore({
      privateKey: introducerKeys.privateKey,
      peers: [{ name: "joe", publicKey: keys.joe.publicKey }, ...crowd],
      wallClockMs: 0,
    });
    const clientOf = (name: string, privateKey: Buffer) =>
      new IntroducerClient({
        name,
        privateKey,
        introducerPublicKey: introducerKeys.publicKey,
        lanCandidates: [],
        accepts: () => null,
        wallClockMs: 0,
      });
    crowd.forEach((p, i) => {
      const [reg] = clientOf(p.name, p.privateKey).start(0);
      if (reg.type !== "send") throw new Error("expected a packet");
      core.handle(reg.packet, udpFrom({ host: `192.0.2.${i + 1}`, port: 1000 }), 0);
    });
    const joe = clientOf("joe", keys.joe.privateKey);
    const answers = (outs: ReturnType<IntroducerClient["start"]>, now: number) =>
      outs.flatMap((o) => (o.type === "send" ? core.handle(o.packet, udpFrom(), now) : []));
    for (const a of answers(joe.start(0), 0)) joe.handle(a.packet, 0);
    const toTargets = crowd.slice(0, -1).flatMap((p, i) => answers(joe.introduce(p.name, i), i));
    expect(toTargets).toHaveLength(MAX_PENDING_PER_REQUESTER); // one INTRODUCTION to each target
    const [last] = answers(joe.introduce(crowd.at(-1)!.name, 100), 100);
    expect(joe.handle(last.packet, 101)).toEqual([
      {
        type: "refused",
        request: "introduce",
        peerName: crowd.at(-1)!.name,
        code: "BUSY",
        reason: "too many introductions in progress; try again in a few seconds",
      },
    ]);
  });

  it("refuses INTRODUCE from a peer that is not registered", () => {
    const net = twoPeers();
    net.runFor(1000);
    net.add({ name: "carol", publicEndpoint: CAROL_PUBLIC, latencyMs: 5 });
    net.introduce("carol", "bob"); // carol never called start()
    net.runFor(1000);
    expect(net.eventsOf("carol", "refused")[0].out).toMatchObject({ code: "NOT_REGISTERED" });
  });
});

describe("IntroducerCore abuse resistance", () => {
  it("answers no unauthenticated input at all (no amplification)", () => {
    const core = makeCore();
    const valid = registerPacket("joe");
    const unknownKey = registerPacket("mallory");
    let fed = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 1600 }).map((a) => Buffer.from(a)),
          fc.nat(valid.length - 1).map((n) => valid.subarray(0, n)),
          fc.tuple(fc.nat(valid.length - 1), fc.nat(7)).map(([at, bit]) => {
            const b = Buffer.from(valid);
            b[at] ^= 1 << bit;
            return b;
          }),
          fc.constant(unknownKey),
          fc.uint8Array({ minLength: 60, maxLength: 200 }).map((a) => {
            const b = Buffer.from(a);
            b[0] = IntroducerPacketType.REGISTER;
            keys.joe.publicKey.copy(b, 1); // a configured key with a forged box
            return b;
          }),
        ),
        fc.tuple(fc.nat(255), fc.nat(255)),
        (packet, [x, y]) => {
          fed++;
          const out = core.handle(packet, udpFrom({ host: `10.${x}.${y}.1`, port: 1000 }), fed);
          expect(out).toEqual([]);
        },
      ),
      { numRuns: 3000 },
    );
    const c = core.counters();
    expect(c.malformed + c.unauthenticated + c.replayed + c.rateLimited).toBe(fed);
    expect(c.sent).toBe(0);
    expect(c.unauthenticated).toBeGreaterThan(0);
    expect(c.malformed).toBeGreaterThan(0);
  });

  it("drops packets whose source is not an IP address (it could not be answered)", () => {
    const core = makeCore();
    expect(core.handle(registerPacket("joe"), udpFrom({ host: "", port: 1 }), 0)).toEqual([]);
    expect(core.counters()).toMatchObject({ malformed: 1, registrations: 0 });
  });

  it("limits packets per source IP, independently of other sources", () => {
    const core = makeCore();
    const flooder = udpFrom({ host: "192.0.2.66", port: 1 });
    for (let i = 0; i < 100; i++) core.handle(Buffer.alloc(80, i), flooder, 0);
    expect(core.counters().rateLimited).toBe(100 - RATE_BUCKET_CAPACITY);
    // Even a valid REGISTER from the flooding IP goes unanswered until its bucket refills …
    expect(
      core.handle(registerPacket("joe"), { ...flooder, endpoint: { ...flooder.endpoint, port: 2 } }, 0),
    ).toEqual([]);
    // … while another source is served at the same instant.
    expect(core.handle(registerPacket("bob"), udpFrom(BOB_PUBLIC), 0)).toHaveLength(1);
    expect(core.handle(registerPacket("joe"), flooder, 1000)).toHaveLength(1);
  });

  it("tracks a bounded number of sources", () => {
    const core = makeCore();
    for (let i = 0; i < MAX_TRACKED_SOURCES + 500; i++)
      core.handle(
        Buffer.alloc(10),
        udpFrom({ host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 1 }),
        0,
      );
    expect(core.counters().trackedSources).toBe(MAX_TRACKED_SOURCES);
    core.tick(60_000);
    expect(core.counters().trackedSources).toBe(0);
  });

  it("rejects an invalid configuration with a stable code", () => {
    const peer = { name: "joe", publicKey: keys.joe.publicKey };
    const make = (peers: { name: string; publicKey: Buffer }[]) => () =>
      new IntroducerCore({ privateKey: introducerKeys.privateKey, peers, wallClockMs: 0 });
    expect(make([peer, { ...peer, name: "joe2" }])).toThrow(
      expect.objectContaining({ code: "INTRODUCER_PEER_DUPLICATE" }),
    );
    expect(make([peer, { ...peer, publicKey: keys.bob.publicKey }])).toThrow(
      expect.objectContaining({ code: "INTRODUCER_PEER_DUPLICATE" }),
    );
    expect(make([{ name: "x", publicKey: Buffer.alloc(31) }])).toThrow(
      expect.objectContaining({ code: "INTRODUCER_PEER_KEY" }),
    );
    expect(make([{ name: "x", publicKey: Buffer.alloc(32) }])).toThrow(
      expect.objectContaining({ code: "INTRODUCER_PEER_KEY" }),
    );
  });
});
