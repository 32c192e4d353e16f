/** The PathMonitor driven by a virtual clock and a scripted peer that answers with real sealed pongs. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StaticBox } from "../../src/crypto/box.js";
import { generateKeyPair } from "../../src/crypto/primitives.js";
import { DiscoChannel } from "../../src/punch/disco-channel.js";
import { type MonitorOutput, PathMonitor } from "../../src/punch/path-monitor.js";
import type { Endpoint } from "../../src/util/addr.js";

const ka = generateKeyPair();
const kb = generateKeyPair();
const PATH: Endpoint = { host: "203.0.113.20", port: 41641 };
const US: Endpoint = { host: "192.0.2.10", port: 41641 };

function setup() {
  const a = new DiscoChannel(
    new StaticBox(ka.privateKey, ka.publicKey, kb.publicKey, "disco", 1),
    ka.publicKey,
    kb.publicKey,
  );
  const b = new DiscoChannel(
    new StaticBox(kb.privateKey, kb.publicKey, ka.publicKey, "disco", 1),
    kb.publicKey,
    ka.publicKey,
  );
  return { a, b, m: new PathMonitor(a, PATH, 0) };
}

type Send = Extract<MonitorOutput, { type: "send" }>;

/**
 * Runs the monitor's timers up to `until`. `answer(at)` returns the delay after which the peer's
 * pong to a ping sent at `at` arrives, or null to drop it. Returns everything the monitor output.
 */
function drive(m: PathMonitor, b: DiscoChannel, until: number, answer: (at: number) => number | null) {
  const log: Array<MonitorOutput & { at: number }> = [];
  const pending: Array<{ at: number; packet: Buffer }> = [];
  let now = 0;
  for (;;) {
    pending.sort((x, y) => x.at - y.at);
    const timer = m.nextTimer();
    const next = Math.min(timer ?? Number.POSITIVE_INFINITY, pending[0]?.at ?? Number.POSITIVE_INFINITY);
    if (next > until) break;
    now = next;
    const out = pending[0]?.at === now ? m.handle(pending.shift()!.packet, PATH, now) : m.tick(now);
    for (const o of out) {
      log.push({ ...o, at: now });
      if (o.type !== "send") continue;
      const msg = b.open(o.packet);
      const delay = answer(now);
      if (msg?.type === "ping" && delay !== null)
        pending.push({ at: now + delay, packet: b.pong(msg.txid, US) });
    }
  }
  return log;
}

const sendTimes = (log: Array<MonitorOutput & { at: number }>) =>
  log.filter((o) => o.type === "send").map((o) => o.at);

describe("PathMonitor", () => {
  it("pings an idle path every keepalive interval and measures the RTT", () => {
    const { b, m } = setup();
    const log = drive(m, b, 60_000, () => 40);
    expect(sendTimes(log)).toEqual([10_000, 20_040, 30_080, 40_120, 50_160]);
    expect(m.stats).toMatchObject({ lastRttMs: 40, srttMs: 40, misses: 0, pongsReceived: 5 });
    expect(log.filter((o) => o.type === "lost")).toEqual([]);
  });

  it("sends no probes while session traffic keeps arriving", () => {
    const { b, m } = setup();
    for (let t = 0; t <= 60_000; t += 5_000) {
      m.noteTraffic(t);
      expect(m.tick(t)).toEqual([]);
    }
    expect(m.nextTimer()).toBe(70_000);
    expect(drive(m, b, 69_999, () => 40)).toEqual([]);
  });

  it("lets the peer's pings over the path stand in for its own keepalives (one side pings, not both)", () => {
    const { b, m } = setup();
    // The peer pings every 9 s: we answer each and never need a keepalive of our own.
    for (let t = 9_000; t <= 54_000; t += 9_000) {
      expect(m.tick(t)).toEqual([]);
      expect(m.handle(b.ping().packet, PATH, t).map((o) => o.type)).toEqual(["send"]);
    }
    expect(m.nextTimer()).toBe(64_000);
    // A ping from another address (the peer moved) proves nothing about this path.
    m.handle(b.ping().packet, { host: "203.0.113.20", port: 50_000 }, 60_000);
    expect(m.nextTimer()).toBe(64_000);
  });

  it("smooths RTT samples with gain 1/8 and keeps the last one", () => {
    const { a, b } = setup();
    const m = new PathMonitor(a, PATH, 0, { initialRttMs: 40 });
    const rtts = [80, 80, 8];
    let i = 0;
    drive(m, b, 35_000, () => rtts[i++] ?? null);
    expect(m.stats.lastRttMs).toBe(8);
    const expected = [80, 80, 8].reduce((s, r) => s + (r - s) / 8, 40);
    expect(m.stats.srttMs).toBeCloseTo(expected, 9);
  });

  it("declares the path lost after three unanswered probes, once, then goes quiet", () => {
    const { b, m } = setup();
    const log = drive(m, b, 120_000, () => null);
    // Keepalive at 10 s; each miss (2 s timeout) triggers the next probe at once.
    expect(sendTimes(log)).toEqual([10_000, 12_000, 14_000]);
    expect(log.filter((o) => o.type === "lost")).toEqual([
      { type: "lost", misses: 3, lastHeardAt: 0, at: 16_000 },
    ]);
    expect(m.lost).toBe(true);
    expect(m.nextTimer()).toBeUndefined();
  });

  it("recovers from one lost pong without declaring loss, and traffic clears a miss", () => {
    const { b, m } = setup();
    let n = 0;
    const log = drive(m, b, 40_000, () => (n++ === 0 ? null : 40));
    expect(sendTimes(log)).toEqual([10_000, 12_000, 22_040, 32_080]);
    expect(log.filter((o) => o.type === "lost")).toEqual([]);
    expect(m.stats.misses).toBe(0);
    // A keepalive whose pong is lost while traffic arrived is not a miss either.
    const fresh = setup();
    const [ka1] = fresh.m.tick(10_000);
    expect(ka1.type).toBe("send");
    fresh.m.noteTraffic(11_000);
    fresh.m.tick(12_000);
    expect(fresh.m.stats.misses).toBe(0);
  });

  it("answers on-demand probes with their RTT by txid, or a timeout", () => {
    const { b, m } = setup();
    const p1 = m.probe(100);
    const p2 = m.probe(100, { padTo: 1_200 });
    const [s1, s2] = [p1.actions[0] as Send, p2.actions[0] as Send];
    expect(s2.packet.length).toBe(1_200);
    const msg = b.open(s1.packet);
    if (msg?.type !== "ping") throw new Error("expected a ping");
    b.open(s2.packet);
    expect(m.handle(b.pong(msg.txid, US), PATH, 133)).toEqual([
      { type: "probe-result", txid: p1.txid, rttMs: 33, observedSelf: US },
    ]);
    expect(m.tick(2_100)).toEqual([{ type: "probe-timeout", txid: p2.txid }]);
    expect(m.stats.misses).toBe(0); // on-demand probes do not count towards loss
  });

  it("pongs the peer's pings and reports once when they come from a new address", () => {
    const { b, m } = setup();
    const moved = { host: "203.0.113.20", port: 50_000 };
    const out1 = m.handle(b.ping().packet, PATH, 10);
    expect(out1.map((o) => o.type)).toEqual(["send"]);
    const out2 = m.handle(b.ping().packet, moved, 20);
    expect(out2.map((o) => o.type)).toEqual(["send", "peer-endpoint"]);
    expect(m.handle(b.ping().packet, moved, 30).map((o) => o.type)).toEqual(["send"]);
    const pong = b.open((out2[0] as Send).packet);
    expect(pong).toMatchObject({ type: "pong", observed: moved });
  });

  it("ignores forged pongs and never throws on random input", () => {
    const { a, m } = setup();
    const kc = generateKeyPair();
    const mallory = new DiscoChannel(
      new StaticBox(kc.privateKey, kc.publicKey, ka.publicKey, "disco"),
      kb.publicKey,
      ka.publicKey,
    );
    const { txid } = m.probe(0);
    const forged = mallory.pong(Buffer.from(txid, "hex"), US);
    expect(m.handle(forged, PATH, 10)).toEqual([]);
    expect(a.counters.dropped).toBe(1);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 150 }), (raw) => {
        expect(m.handle(Buffer.from(raw), PATH, 20)).toEqual([]);
      }),
    );
  });
});
