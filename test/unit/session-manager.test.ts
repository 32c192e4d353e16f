import { describe, expect, it } from "vitest";
import { DEFAULT_SESSION_TIMINGS as T } from "../../src/crypto/noise/session-constants.js";
import { SessionError, SessionManager } from "../../src/crypto/noise/session-manager.js";
import { generateKeyPair } from "../../src/crypto/primitives.js";
import { SessionPacketType } from "../../src/wire/session.js";
import { type InFlight, Net, type Node, ofType, orderedKeyPairs, packetType } from "./session-harness.js";

const A_ADDR = { host: "198.51.100.1", port: 1000 };
const B_ADDR = { host: "203.0.113.2", port: 2000 };

function pair(timings?: Parameters<Net["add"]>[4]) {
  const net = new Net();
  const ka = generateKeyPair();
  const kb = generateKeyPair();
  const a = net.add("a", ka, [kb.publicKey], { ...A_ADDR }, timings);
  const b = net.add("b", kb, [ka.publicKey], { ...B_ADDR }, timings);
  return { net, a, b };
}

function established(timings?: Parameters<Net["add"]>[4]) {
  const s = pair(timings);
  s.net.connect(s.a, s.b);
  s.net.run();
  return s;
}

const delivered = (n: Node) => ofType(n.events, "deliver").map((d) => d.payload.toString());
const isData = (p: InFlight) => packetType(p) === SessionPacketType.Data;

describe("SessionManager: handshake and data", () => {
  it("establishes a session and carries data both ways", () => {
    const { net, a, b } = established();
    expect(a.mgr.isEstablished(b.id)).toBe(true);
    expect(b.mgr.isEstablished(a.id)).toBe(true);
    expect(ofType(a.events, "established")).toEqual([{ type: "established", peer: b.id, endpoint: B_ADDR }]);
    expect(ofType(b.events, "established")).toEqual([{ type: "established", peer: a.id, endpoint: A_ADDR }]);
    net.send(a, b, Buffer.from("hello b"));
    net.send(b, a, Buffer.from("hello a"));
    net.run();
    expect(delivered(b)).toEqual(["hello b"]);
    expect(delivered(a)).toEqual(["hello a"]);
    expect(Object.values(a.mgr.counters).every((c) => c === 0)).toBe(true);
    expect(Object.values(b.mgr.counters).every((c) => c === 0)).toBe(true);
  });

  it("reports per-peer status", () => {
    const { net, a, b } = pair();
    expect(a.mgr.peerStatus(b.id)).toMatchObject({
      established: false,
      handshakeInProgress: false,
      txBytes: 0,
    });
    expect(a.mgr.peerStatus(generateKeyPair().publicKey)).toBeUndefined();
    net.connect(a, b);
    expect(a.mgr.peerStatus(b.id)).toMatchObject({ handshakeInProgress: true, endpoint: B_ADDR });
    net.now = 50;
    net.run();
    net.send(a, b, Buffer.from("12345"));
    net.run();
    expect(a.mgr.peerStatus(b.id)).toEqual({
      endpoint: B_ADDR,
      established: true,
      handshakeAt: 50,
      handshakeInProgress: false,
      lastReceivedAt: undefined,
      txBytes: 5,
      rxBytes: 0,
    });
    expect(b.mgr.peerStatus(a.id)).toMatchObject({ established: true, rxBytes: 5, lastReceivedAt: 50 });
  });

  it("queues payloads sent before the session exists and delivers them in order", () => {
    const { net, a, b } = pair();
    net.connect(a, b);
    net.send(a, b, Buffer.from("1"));
    net.send(a, b, Buffer.from("2"));
    net.run();
    net.send(b, a, Buffer.from("3"));
    net.run();
    expect(delivered(b)).toEqual(["1", "2"]);
    expect(delivered(a)).toEqual(["3"]);
  });

  it("starts a handshake from send() when the peer's endpoint is known", () => {
    const { net, a, b } = established();
    net.now = T.rejectAfterMs + 1;
    net.tick(a, b); // first tick since the handshake: the keys expired without a rekey
    expect(net.capture()).toEqual([]);
    expect(a.mgr.isEstablished(b.id)).toBe(false);
    net.send(a, b, Buffer.from("after expiry"));
    net.run();
    expect(delivered(b)).toContain("after expiry");
  });

  it("send() to an unpinned peer is dropped and counted", () => {
    const { a } = pair();
    expect(a.mgr.send(generateKeyPair().publicKey, Buffer.from("x"), 0)).toEqual([]);
    expect(a.mgr.counters.noSession).toBe(1);
  });

  it("send() before the peer's endpoint is known queues until the peer connects", () => {
    const { net, a, b } = pair();
    net.send(b, a, Buffer.from("waiting"));
    expect(net.inFlight).toEqual([]);
    expect(b.mgr.nextTimer()).toBeUndefined();
    net.connect(a, b);
    net.run();
    expect(delivered(a)).toEqual(["waiting"]);
  });

  it("refuses connect() to a peer that is not pinned", () => {
    const { a } = pair();
    expect(() => a.mgr.connect(generateKeyPair().publicKey, B_ADDR, 0)).toThrow(SessionError);
  });

  it("a forged RESPONSE does not spoil the pending handshake", () => {
    const { net, a, b } = pair();
    net.connect(a, b);
    net.run(1); // INIT reaches b; its RESPONSE is in flight
    const [resp] = net.capture();
    expect(packetType(resp)).toBe(SessionPacketType.Response);
    const forged = Buffer.from(resp.packet);
    forged[forged.length - 1] ^= 1;
    expect(a.mgr.handle(forged, B_ADDR, net.now)).toEqual([]);
    expect(a.mgr.counters.decryptFail).toBe(1);
    net.inFlight.push(resp);
    net.run();
    expect(a.mgr.isEstablished(b.id)).toBe(true);
    expect(b.mgr.isEstablished(a.id)).toBe(true);
  });
});

describe("SessionManager: refusals", () => {
  it("drops a replayed DATA packet", () => {
    const { net, a, b } = established();
    net.send(a, b, Buffer.from("once"));
    const [p] = net.capture();
    b.mgr.handle(p.packet, p.src, net.now);
    expect(b.mgr.handle(p.packet, p.src, net.now)).toEqual([]);
    expect(b.mgr.counters.replay).toBe(1);
  });

  it("drops a replayed INIT without answering", () => {
    const { net, a, b } = pair();
    net.connect(a, b);
    const init = net.inFlight[0];
    net.run();
    expect(b.mgr.handle(init.packet, init.src, net.now + 1000)).toEqual([]);
    expect(b.mgr.counters.initReplay).toBe(1);
  });

  it("refuses an INIT from an unpinned key before creating any state", () => {
    const net = new Net();
    const kb = generateKeyPair();
    const kc = generateKeyPair();
    const b = net.add("b", kb, [], { ...B_ADDR });
    const c = net.add("c", kc, [kb.publicKey], { host: "192.0.2.3", port: 3000 });
    net.connect(c, b);
    const [init] = net.inFlight;
    expect(b.mgr.handle(init.packet, init.src, 0)).toEqual([]);
    expect(b.mgr.counters.unknownKey).toBe(1);
    expect(b.mgr.nextTimer()).toBeUndefined();
    // even once c is pinned, nothing was remembered from the refused INIT
    b.mgr.setPeers([kc.publicKey]);
    expect(b.mgr.isEstablished(c.id)).toBe(false);
    expect(b.mgr.endpointOf(c.id)).toBeUndefined();
  });

  it("forgets a removed peer: its DATA and INITs are refused", () => {
    const { net, a, b } = established();
    net.send(a, b, Buffer.from("x"));
    const [data] = net.capture();
    b.mgr.setPeers([]);
    expect(b.mgr.isEstablished(a.id)).toBe(false);
    b.mgr.handle(data.packet, data.src, net.now);
    expect(b.mgr.counters.unknownIndex).toBe(1);
    net.now += 1000;
    net.connect(a, b);
    net.run();
    expect(b.mgr.counters.unknownKey).toBe(1);
    expect(delivered(b)).toEqual([]);
  });

  it("never moves the endpoint for unauthenticated or replayed packets", () => {
    const { net, a, b } = established();
    net.send(a, b, Buffer.from("genuine"));
    const [p] = net.capture();
    const forged = Buffer.from(p.packet);
    forged[20] ^= 0xff;
    const evil = { host: "192.0.2.66", port: 6666 };
    b.mgr.handle(forged, evil, net.now);
    expect(b.mgr.counters.decryptFail).toBe(1);
    b.mgr.handle(p.packet, p.src, net.now);
    b.mgr.handle(p.packet, evil, net.now);
    expect(b.mgr.counters.replay).toBe(1);
    expect(b.mgr.endpointOf(a.id)).toEqual(A_ADDR);
    expect(ofType(b.events, "roamed")).toEqual([]);
  });
});

describe("SessionManager: roaming and restart", () => {
  it("follows an authenticated DATA packet to a new source address", () => {
    const { net, a, b } = established();
    a.addr = { host: "198.51.100.77", port: 4321 }; // a's NAT rebinds
    net.send(a, b, Buffer.from("from the new address"));
    net.run();
    expect(ofType(b.events, "roamed")).toEqual([{ type: "roamed", peer: a.id, endpoint: a.addr }]);
    expect(b.mgr.endpointOf(a.id)).toEqual(a.addr);
    net.send(b, a, Buffer.from("reply"));
    expect(net.inFlight[0].to).toEqual(a.addr);
    net.run();
    expect(delivered(a)).toEqual(["reply"]);
  });

  it("a late packet from the old address does not pull the session back", () => {
    const { net, a, b } = established();
    net.send(a, b, Buffer.from("old"));
    const [late] = net.capture();
    a.addr = { host: "198.51.100.77", port: 4321 };
    net.send(a, b, Buffer.from("new"));
    net.run();
    net.take(b, b.mgr.handle(late.packet, late.src, net.now));
    expect(b.mgr.endpointOf(a.id)).toEqual(a.addr);
    expect(ofType(b.events, "roamed")).toHaveLength(1);
    expect(delivered(b)).toEqual(["new", "old"]);
  });

  it("a restarted peer's new INIT replaces the session", () => {
    const { net, a, b } = established();
    net.now += 5000;
    // b restarts: same key, no memory, a later wall clock
    const b2 = net.add("b2", b.keys, [a.keys.publicKey], { ...B_ADDR });
    net.nodes.splice(net.nodes.indexOf(b), 1);
    net.send(a, b2, Buffer.from("lost: b2 has no keys"));
    net.run();
    expect(b2.mgr.counters.unknownIndex).toBe(1);
    net.connect(b2, a);
    net.run();
    expect(ofType(a.events, "established")).toHaveLength(2);
    expect(b2.mgr.isEstablished(a.id)).toBe(true);
    net.send(a, b2, Buffer.from("to the new b"));
    net.send(b2, a, Buffer.from("from the new b"));
    net.run();
    expect(delivered(b2)).toEqual(["to the new b"]);
    expect(delivered(a)).toEqual(["from the new b"]);
  });
});

describe("SessionManager: simultaneous initiation", () => {
  for (const lowFirst of [true, false]) {
    it(`crossing INITs resolve to one session (${lowFirst ? "low" : "high"} key's INIT delivered first)`, () => {
      const net = new Net();
      const [kl, kh] = orderedKeyPairs();
      const low = net.add("low", kl, [kh.publicKey], { ...A_ADDR });
      const high = net.add("high", kh, [kl.publicKey], { ...B_ADDR });
      net.connect(low, high);
      net.connect(high, low);
      if (!lowFirst) net.inFlight.reverse();
      const all = net.run();
      const responses = all.filter((p) => packetType(p) === SessionPacketType.Response);
      expect(responses.map((p) => p.from.name)).toEqual(["low"]); // only the lower key answered
      expect(high.mgr.counters.simultaneousIgnored).toBe(1);
      expect(ofType(low.events, "established")).toHaveLength(1);
      expect(ofType(high.events, "established")).toHaveLength(1);
      net.advanceTo(5 * T.handshakeRetransmitMaxMs); // no lingering handshake keeps retrying
      expect(ofType(low.events, "established")).toHaveLength(1);
      net.send(low, high, Buffer.from("l"));
      net.send(high, low, Buffer.from("h"));
      net.run();
      expect(delivered(high)).toEqual(["l"]);
      expect(delivered(low)).toEqual(["h"]);
    });
  }
});

describe("SessionManager: peer reappearing elsewhere during a handshake", () => {
  it("the winning side re-sends its INIT to where the peer's INIT came from", () => {
    const net = new Net();
    const [kl, kh] = orderedKeyPairs();
    const low = net.add("low", kl, [kh.publicKey], { ...A_ADDR });
    const high = net.add("high", kh, [kl.publicKey], { ...B_ADDR });
    net.take(high, high.mgr.connect(kl.publicKey, { host: "192.0.2.200", port: 1 }, net.now)); // stale address
    net.connect(low, high);
    const all = net.run();
    expect(high.mgr.counters.simultaneousIgnored).toBe(1);
    expect(all.filter((p) => packetType(p) === SessionPacketType.Response).map((p) => p.from.name)).toEqual([
      "low",
    ]);
    expect(high.mgr.isEstablished(low.id)).toBe(true);
    expect(low.mgr.isEstablished(high.id)).toBe(true);
    expect(high.mgr.endpointOf(low.id)).toEqual(A_ADDR);
  });
});

describe("SessionManager: crossing INITs when the winner's INIT is lost", () => {
  it("the winner answers the loser's retransmission with a fresh INIT instead of waiting", () => {
    const net = new Net();
    const [kl, kh] = orderedKeyPairs();
    const low = net.add("low", kl, [kh.publicKey], { ...A_ADDR }, { handshakeRetransmitMs: 300 });
    const high = net.add("high", kh, [kl.publicKey], { ...B_ADDR });
    net.filter = (p) => !(p.from === high && net.now < 1500); // high's INITs get lost for a while
    net.connect(low, high);
    net.connect(high, low);
    // high retransmits at 1100 (lost) and next at 3300; low retries every 330, 990, 2310, ...
    net.advanceTo(2400);
    expect(high.mgr.counters.simultaneousIgnored).toBeGreaterThanOrEqual(3);
    expect(high.mgr.isEstablished(low.id)).toBe(true);
    expect(low.mgr.isEstablished(high.id)).toBe(true);
    expect(ofType(high.events, "established")).toHaveLength(1);
  });
});

describe("SessionManager: INIT floods", () => {
  it("drops a second INIT from one peer within initMinIntervalMs", () => {
    const { net, a, b } = pair();
    net.connect(a, b);
    net.connect(a, b); // a newer timestamp, same instant
    net.run();
    expect(b.mgr.counters.initFlood).toBe(1);
    expect(b.mgr.counters.initReplay).toBe(0);
  });

  it("spends a global INIT budget before any DH work", () => {
    const net = new Net();
    const kb = generateKeyPair();
    const strangers = Array.from({ length: 5 }, () => generateKeyPair());
    const b = net.add("b", kb, [], { ...B_ADDR }, { initsPerSecond: 1, initBurst: 2 });
    strangers.forEach((k, i) => {
      const c = net.add(`c${i}`, k, [kb.publicKey], { host: "192.0.2.3", port: 3000 + i });
      net.connect(c, b);
    });
    net.run();
    expect(b.mgr.counters.unknownKey).toBe(2);
    expect(b.mgr.counters.initRateLimited).toBe(3);
    net.now += 1000; // one token back
    net.connect(net.nodes[1], b);
    net.run();
    expect(b.mgr.counters.unknownKey).toBe(3);
  });
});

describe("SessionManager: timers", () => {
  it("retransmits INIT with exponential backoff and jitter, then gives up", () => {
    const { net, a, b } = pair();
    net.filter = () => false; // nothing arrives
    net.connect(a, b);
    const times: number[] = [];
    const inits = new Set<string>();
    for (;;) {
      const t = a.mgr.nextTimer();
      if (t === undefined) break;
      net.now = t;
      times.push(t);
      net.tick(a);
      for (const p of net.capture()) inits.add(p.packet.toString("hex"));
    }
    // random() is 0.5 in the harness: each delay is base * 1.1, base doubling from 1 s up to 8 s.
    const gaps = times.map((t, i) => t - (i === 0 ? 0 : times[i - 1]));
    expect(gaps.slice(0, 5)).toEqual([1100, 2200, 4400, 8800, 8800]);
    expect(times.at(-1)).toBeGreaterThanOrEqual(T.handshakeGiveUpMs);
    // the first INIT plus one fresh INIT per tick but the last, which gave up
    expect(inits.size).toBe(times.length);
    expect(ofType(a.events, "handshakeFailed")).toEqual([{ type: "handshakeFailed", peer: b.id }]);
    expect(a.mgr.counters.handshakeFailed).toBe(1);
  });

  it("a retransmitted INIT is accepted after the first was lost", () => {
    const { net, a, b } = pair();
    net.connect(a, b);
    net.capture(); // lost
    net.advanceTo(2000);
    expect(a.mgr.isEstablished(b.id)).toBe(true);
    expect(b.mgr.isEstablished(a.id)).toBe(true);
  });

  it("rekeys on time, keeps the old keys for the grace period, then refuses them", () => {
    const { net, a, b } = established();
    net.send(a, b, Buffer.from("in flight 1"));
    net.send(a, b, Buffer.from("in flight 2"));
    const oldPackets = net.capture();
    net.advanceTo(T.rekeyAfterMs);
    expect(ofType(a.events, "established")).toHaveLength(2);
    expect(ofType(b.events, "established")).toHaveLength(2);
    // a packet from before the rekey, arriving within the grace period, still decrypts
    net.inFlight.push(oldPackets[0]);
    net.run();
    expect(delivered(b)).toEqual(["in flight 1"]);
    // after the grace period the old keys are refused
    net.now += T.previousKeysGraceMs;
    b.mgr.handle(oldPackets[1].packet, oldPackets[1].src, net.now);
    expect(b.mgr.counters.staleKey).toBe(1);
    expect(delivered(b)).toEqual(["in flight 1"]);
    // the new keys work both ways
    net.send(a, b, Buffer.from("new keys"));
    net.send(b, a, Buffer.from("new keys too"));
    net.run();
    expect(delivered(b)).toEqual(["in flight 1", "new keys"]);
    expect(delivered(a)).toEqual(["new keys too"]);
  });

  it("recovers when the initiator's confirming DATA after a rekey is lost", () => {
    const { net, a, b } = established();
    let dropped = 0;
    net.filter = (p) => {
      const confirm = p.from === a && isData(p) && p.packet.length === 29; // empty DATA
      if (confirm && dropped === 0) dropped++;
      else return true;
      return false;
    };
    net.advanceTo(T.rekeyAfterMs);
    expect(dropped).toBe(1);
    expect(ofType(a.events, "established")).toHaveLength(2);
    expect(ofType(b.events, "established")).toHaveLength(1); // b still waits for proof
    net.send(b, a, Buffer.from("on old keys"));
    net.run();
    expect(delivered(a)).toEqual(["on old keys"]);
    expect(ofType(b.events, "established")).toHaveLength(2); // a re-sent its proof
    net.now += T.previousKeysGraceMs;
    net.tick(a, b);
    net.send(b, a, Buffer.from("after the grace period"));
    net.run();
    expect(delivered(a)).toEqual(["on old keys", "after the grace period"]);
    expect(a.mgr.counters.staleKey).toBe(0);
  });

  it("keeps a session up across many rekeys", () => {
    const { net, a, b } = established();
    for (let i = 1; i <= 5; i++) {
      net.advanceTo(i * T.rekeyAfterMs + 1);
      net.send(a, b, Buffer.from(`m${i}`));
      net.run();
    }
    expect(delivered(b)).toEqual(["m1", "m2", "m3", "m4", "m5"]);
    expect(ofType(a.events, "established").length).toBeGreaterThanOrEqual(6);
    expect(
      a.mgr.counters.staleKey + a.mgr.counters.expired + b.mgr.counters.staleKey + b.mgr.counters.expired,
    ).toBe(0);
  });

  it("rekeys after rekeyAfterMessages and stops sending at rejectAfterMessages", () => {
    const { net, a, b } = established({ rekeyAfterMessages: 5, rejectAfterMessages: 8 });
    net.filter = (p) => isData(p); // handshakes are lost from now on
    // the keepalive after the RESPONSE used counter 0
    for (let i = 1; i <= 10; i++) net.send(a, b, Buffer.from(`m${i}`));
    const sent = net.run();
    expect(sent.filter(isData)).toHaveLength(7); // counters 1..7
    expect(delivered(b)).toEqual(["m1", "m2", "m3", "m4", "m5", "m6", "m7"]);
    expect(net.nodes.length).toBe(2);
    // the INIT went out after the 4th payload (counter 4 is the 5th message)
    net.filter = () => true;
    net.advanceTo(net.now + 3000);
    expect(ofType(a.events, "established")).toHaveLength(2);
    expect(delivered(b)).toEqual(["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10"]);
  });

  it("refuses keys older than rejectAfterMs", () => {
    const { net, a, b } = established();
    net.send(a, b, Buffer.from("too late"));
    const [p] = net.capture();
    net.now = T.rejectAfterMs;
    expect(b.mgr.handle(p.packet, p.src, net.now)).toEqual([]);
    expect(b.mgr.counters.expired).toBe(1);
    expect(b.mgr.isEstablished(a.id)).toBe(false);
  });
});

describe("SessionManager: construction", () => {
  it("rejects a low-order peer key and leaves the pinned set unchanged", () => {
    const { a, b } = established();
    expect(() => a.mgr.setPeers([b.keys.publicKey, Buffer.alloc(32)])).toThrow(SessionError);
    expect(a.mgr.isEstablished(b.id)).toBe(true);
  });

  it("rejects a peer key of the wrong size", () => {
    expect(
      () =>
        new SessionManager({ privateKey: generateKeyPair().privateKey, peers: [Buffer.alloc(31)], now: 0 }),
    ).toThrow(SessionError);
  });
});
