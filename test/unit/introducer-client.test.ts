import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StaticBox } from "../../src/crypto/box.js";
import { IntroducerClient, type IntroducerClientOutput } from "../../src/daemon/introducer-client.js";
import {
  CLIENT_REFRESH_MS,
  INTRODUCE_MAX_SENDS,
  LOST_AFTER_ATTEMPTS,
  REGISTER_RETRY_MAX_MS,
} from "../../src/daemon/introducer-client-constants.js";
import { IntroducerCore } from "../../src/introducer/core.js";
import {
  IntroducerPacketType,
  openIntroducerPacket,
  parseIntroducerPacket,
  sealIntroducerPacket,
} from "../../src/wire/introducer.js";
import { introducerKeys, keys, makeCore, SimNet, seeded } from "./introducer-fixtures.js";

const JOE_PUBLIC = { host: "198.51.100.7", port: 40001 };
const BOB_PUBLIC = { host: "203.0.113.9", port: 50002 };

function joeClient(
  introducerPublicKey = introducerKeys.publicKey,
  accepts = (_: Buffer): string | null => null,
) {
  return new IntroducerClient({
    name: "joe",
    privateKey: keys.joe.privateKey,
    introducerPublicKey,
    lanCandidates: [],
    accepts,
    wallClockMs: 1_700_000_000_000,
    random: seeded(1),
  });
}

/** The introducer's side of joe's box: seals packets joe's client accepts, opens joe's answers. */
function introducersBoxForJoe(): StaticBox {
  return new StaticBox(
    introducerKeys.privateKey,
    introducerKeys.publicKey,
    keys.joe.publicKey,
    "introducer",
    9e12,
  );
}

const sends = (outs: IntroducerClientOutput[]) => outs.filter((o) => o.type === "send");
const events = (outs: IntroducerClientOutput[]) => outs.filter((o) => o.type !== "send");

/** Drives a client with no introducer answering; returns the instants of its REGISTER sends. */
function unanswered(client: IntroducerClient, until: number) {
  const sentAt: number[] = [];
  const evts: { at: number; type: string }[] = [];
  const record = (now: number, outs: IntroducerClientOutput[]) => {
    for (const o of outs) if (o.type === "send") sentAt.push(now);
    for (const e of events(outs)) evts.push({ at: now, type: e.type });
  };
  record(0, client.start(0));
  for (let t = client.nextTimer(); t !== undefined && t <= until; t = client.nextTimer())
    record(t, client.tick(t));
  return { sentAt, evts };
}

describe("IntroducerClient registration", () => {
  it("retransmits an unanswered REGISTER quickly, then backs off, and reports the introducer lost once", () => {
    const { sentAt, evts } = unanswered(joeClient(), 10 * 60_000);
    const gaps = sentAt.slice(1).map((t, i) => t - sentAt[i]);
    [250, 500, 1000, 2000, 4000].forEach((base, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(base * 0.9);
      expect(gaps[i]).toBeLessThanOrEqual(base * 1.1);
    });
    expect(Math.max(...gaps)).toBeLessThanOrEqual(REGISTER_RETRY_MAX_MS * 1.1);
    expect(gaps.at(-1)).toBeGreaterThanOrEqual(REGISTER_RETRY_MAX_MS * 0.9);
    expect(evts.map((e) => e.type)).toEqual(["lost"]);
    expect(evts[0].at).toBe(sentAt[LOST_AFTER_ATTEMPTS]);
  });

  it("refreshes often enough for a NAT that forgets a mapping after 30 s", () => {
    const net = new SimNet();
    net.add({ name: "joe", publicEndpoint: JOE_PUBLIC, latencyMs: 15 });
    net.start("joe");
    net.runFor(10 * 60_000);
    // Every REGISTER is answered at once, so the answers' times are the refresh times.
    const answeredAt = net.coreSent.map((a) => a.at);
    expect(answeredAt.length).toBe(net.core.counters().registrations);
    // The second REGISTER follows the first at once (it reports the measured RTT); then refreshes.
    expect(answeredAt[1] - answeredAt[0]).toBe(30);
    const gaps = answeredAt.slice(2).map((t, i) => t - answeredAt[i + 1]);
    expect(gaps.length).toBeGreaterThanOrEqual(40);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(CLIENT_REFRESH_MS);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(CLIENT_REFRESH_MS * 0.8);
    expect(new Set(gaps).size).toBeGreaterThan(1); // jittered, not in lockstep
    const status = net.node("joe").client.status();
    expect(status).toMatchObject({ registered: true, publicEndpoint: JOE_PUBLIC, rttMs: 30 });
    expect(net.eventsOf("joe", "registered")).toHaveLength(1); // refreshes are not announced
  });

  it("reports a changed public endpoint (the NAT remapped us) and recovery after loss", () => {
    const net = new SimNet();
    const joe = net.add({ name: "joe", publicEndpoint: JOE_PUBLIC, latencyMs: 5 });
    net.start("joe");
    net.runFor(1000);
    joe.cut = true;
    net.runFor(20_000);
    joe.cut = false;
    net.runFor(40_000);
    joe.spec.publicEndpoint = { host: JOE_PUBLIC.host, port: 40999 };
    net.runFor(20_000);
    expect(joe.events.map((e) => e.out)).toEqual([
      { type: "registered", observed: JOE_PUBLIC, changed: false, rttMs: 10 },
      { type: "lost" },
      { type: "registered", observed: JOE_PUBLIC, changed: false, rttMs: 10 },
      { type: "registered", observed: { host: JOE_PUBLIC.host, port: 40999 }, changed: true, rttMs: 10 },
    ]);
  });

  it("measures the RTT of the REGISTER that was answered, not of its first transmission", () => {
    const client = joeClient();
    const core = makeCore();
    client.start(0); // this REGISTER is lost
    const retryAt = client.nextTimer()!;
    const [retry] = sends(client.tick(retryAt));
    const [reply] = core.handle(retry.packet, { endpoint: JOE_PUBLIC, transport: "udp" }, retryAt + 20);
    expect(client.handle(reply.packet, retryAt + 40)).toEqual([
      { type: "registered", observed: JOE_PUBLIC, changed: false, rttMs: 40 },
    ]);
    expect(client.status()).toMatchObject({ rttMs: 40, lastContact: retryAt + 40, registered: true });
  });
});

describe("IntroducerClient introductions", () => {
  it("gives up on INTRODUCE after a few unanswered sends", () => {
    const client = joeClient();
    client.start(0);
    const out = [...client.introduce("bob", 0), ...client.introduce("bob", 1)];
    expect(sends(out)).toHaveLength(1); // a request already running is not duplicated
    let n = 1;
    const evts: IntroducerClientOutput[] = [];
    for (let t = 0; t < 60_000; t += 50) {
      const o = client.tick(t);
      n += sends(o).filter((s) => s.packet[0] === IntroducerPacketType.INTRODUCE).length;
      evts.push(...events(o).filter((e) => e.type === "refused"));
    }
    expect(n).toBe(INTRODUCE_MAX_SENDS);
    expect(evts).toEqual([
      {
        type: "refused",
        request: "introduce",
        peerName: "bob",
        code: "NO_ANSWER",
        reason: "the introducer did not answer the introduction request",
      },
    ]);
  });

  it("refuses an introduction whose key is not the one pinned for that peer", () => {
    const net = new SimNet();
    net.add({ name: "joe", publicEndpoint: JOE_PUBLIC, latencyMs: 5, accepts: [] });
    net.add({ name: "bob", publicEndpoint: BOB_PUBLIC, latencyMs: 5 });
    net.start("joe");
    net.start("bob");
    net.runFor(1000);
    net.introduce("joe", "bob");
    net.runFor(3000);
    expect(net.eventsOf("joe", "refused").map((e) => e.out)).toMatchObject([
      { request: "introduce", peerName: "bob", code: "KEY_MISMATCH" },
    ]);
    expect(net.eventsOf("joe", "introduction")).toEqual([]);
    expect(net.core.counters()).toMatchObject({ introductionsDeclined: 1, introductionsCompleted: 0 });
  });

  it("handles a repeated INTRODUCTION once and acknowledges every copy", () => {
    const core = makeCore();
    const reg = (c: IntroducerClient, from: typeof JOE_PUBLIC) => {
      const [r] = sends(c.start(0));
      for (const a of core.handle(r.packet, { endpoint: from, transport: "udp" }, 0)) c.handle(a.packet, 1);
    };
    const joe = joeClient();
    const bob = new IntroducerClient({
      name: "bob",
      privateKey: keys.bob.privateKey,
      introducerPublicKey: introducerKeys.publicKey,
      lanCandidates: [],
      accepts: (pk) => (pk.equals(keys.joe.publicKey) ? "joe" : null),
      wallClockMs: 1_700_000_000_000,
    });
    reg(joe, JOE_PUBLIC);
    reg(bob, BOB_PUBLIC);
    const [ask] = sends(joe.introduce("bob", 10));
    const [toBob] = core.handle(ask.packet, { endpoint: JOE_PUBLIC, transport: "udp" }, 10);
    const [repeat] = core.tick(10 + 400); // bob's ACK "was lost": the introducer repeats
    const first = bob.handle(toBob.packet, 20);
    const second = bob.handle(repeat.packet, 420);
    expect(events(first).map((e) => e.type)).toEqual(["introduction"]);
    expect(events(second)).toEqual([]);
    expect(sends(first).map((s) => s.packet[0])).toEqual([IntroducerPacketType.INTRODUCTION_ACK]);
    expect(sends(second).map((s) => s.packet[0])).toEqual([IntroducerPacketType.INTRODUCTION_ACK]);
  });
});

describe("IntroducerClient start instants", () => {
  it("follows a repeat carrying a newer start instant, not an older one, and ACKs the one it follows", () => {
    const box = introducersBoxForJoe();
    const joe = joeClient(introducerKeys.publicKey, (pk) => (pk.equals(keys.bob.publicKey) ? "bob" : null));
    const copy = (timing: number, startInMs: number) =>
      sealIntroducerPacket(box, introducerKeys.publicKey, {
        type: "introduction",
        txid: 0,
        introId: 7,
        peerName: "bob",
        peerPublicKey: keys.bob.publicKey,
        candidates: [],
        startInMs,
        timing,
      });
    const ackTiming = (outs: IntroducerClientOutput[]) => {
      const [ack] = sends(outs);
      const opened = openIntroducerPacket(box, parseIntroducerPacket(ack.packet)!);
      if (!opened.ok || opened.msg.type !== "introductionAck") throw new Error("expected an ACK");
      return opened.msg.timing;
    };
    const first = joe.handle(copy(0, 500), 100);
    expect(events(first)).toMatchObject([{ type: "introduction", startAt: 600 }]);
    expect(ackTiming(first)).toBe(0);
    const moved = joe.handle(copy(1, 900), 300);
    expect(events(moved)).toEqual([{ type: "retimed", introId: 7, peerName: "bob", startAt: 1200 }]);
    expect(ackTiming(moved)).toBe(1);
    // A late copy of the first instant (reordered) changes nothing, and the ACK names the newer.
    const late = joe.handle(copy(0, 100), 400);
    expect(events(late)).toEqual([]);
    expect(ackTiming(late)).toBe(1);
    // The count wraps at 256: 0 follows 255.
    const wrapped = new IntroducerClient({
      name: "joe",
      privateKey: keys.joe.privateKey,
      introducerPublicKey: introducerKeys.publicKey,
      lanCandidates: [],
      accepts: () => "bob",
      wallClockMs: 1_700_000_000_000,
    });
    wrapped.handle(copy(255, 500), 0);
    expect(events(wrapped.handle(copy(0, 800), 100))).toMatchObject([{ type: "retimed", startAt: 900 }]);
  });
});

describe("IntroducerClient authentication", () => {
  it("drops packets from an introducer with another key (a fake introducer)", () => {
    // The fake introducer knows joe's public key and seals properly with its own key.
    const fake = new IntroducerCore({
      privateKey: keys.mallory.privateKey,
      peers: [{ name: "joe", publicKey: keys.joe.publicKey }],
      wallClockMs: 0,
    });
    const towardsFake = joeClient(keys.mallory.publicKey);
    const [reg] = sends(towardsFake.start(0));
    const [fakeReply] = fake.handle(reg.packet, { endpoint: JOE_PUBLIC, transport: "udp" }, 0);
    expect(towardsFake.handle(fakeReply.packet, 1)).toHaveLength(1); // sanity: it is a valid reply

    const joe = joeClient();
    joe.start(0);
    expect(joe.handle(fakeReply.packet, 1)).toEqual([]);
    expect(joe.counters.wrongIntroducer).toBe(1);
    // Claiming the real introducer's key does not help: the box does not open.
    const spoofed = Buffer.from(fakeReply.packet);
    introducerKeys.publicKey.copy(spoofed, 1);
    expect(joe.handle(spoofed, 2)).toEqual([]);
    expect(joe.counters.unauthenticated).toBe(1);
    expect(joe.status().registered).toBe(false);
  });

  it("drops replayed packets from the introducer", () => {
    const joe = joeClient();
    const core = makeCore();
    const [reg] = sends(joe.start(0));
    const [reply] = core.handle(reg.packet, { endpoint: JOE_PUBLIC, transport: "udp" }, 0);
    expect(joe.handle(reply.packet, 5)).toHaveLength(1);
    expect(joe.handle(reply.packet, 6)).toEqual([]);
    expect(joe.counters.replayed).toBe(1);
  });

  it("never throws on random, truncated or bit-flipped input, and never answers it", () => {
    const core = makeCore();
    const joe = joeClient(introducerKeys.publicKey, () => "bob");
    const [reg] = sends(joe.start(0));
    const [reply] = core.handle(reg.packet, { endpoint: JOE_PUBLIC, transport: "udp" }, 0);
    // A valid introduction, sealed by the introducer for joe, to mutate.
    const box = introducersBoxForJoe();
    const intro = sealIntroducerPacket(box, introducerKeys.publicKey, {
      type: "introduction",
      txid: 0,
      introId: 5,
      peerName: "bob",
      peerPublicKey: keys.bob.publicKey,
      candidates: [],
      startInMs: 100,
      timing: 0,
    });
    let fed = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 1600 }).map((a) => Buffer.from(a)),
          fc
            .constantFrom(reply.packet, intro)
            .chain((p) => fc.nat(p.length - 1).map((n) => p.subarray(0, n))),
          fc.tuple(fc.constantFrom(reply.packet, intro), fc.nat(), fc.nat(7)).map(([p, at, bit]) => {
            const b = Buffer.from(p);
            b[at % b.length] ^= 1 << bit;
            return b;
          }),
        ),
        (packet) => {
          fed++;
          expect(joe.handle(packet, fed)).toEqual([]);
        },
      ),
      { numRuns: 3000 },
    );
    const c = joe.counters;
    expect(c.malformed + c.wrongIntroducer + c.unauthenticated + c.replayed).toBe(fed);
    expect(parseIntroducerPacket(intro)).not.toBeNull();
  });
});
