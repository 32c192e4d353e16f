/** The UdpPuncher state machine driven by hand: a scripted peer answers (or not) with real sealed packets. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StaticBox } from "../../src/crypto/box.js";
import { generateKeyPair } from "../../src/crypto/primitives.js";
import { DiscoChannel } from "../../src/punch/disco-channel.js";
import { type PunchOutput, type PunchSend, UdpPuncher } from "../../src/punch/udp-puncher.js";
import type { Endpoint } from "../../src/util/addr.js";
import type { Candidate } from "../../src/wire/candidate.js";

const ka = generateKeyPair();
const kb = generateKeyPair();
const SRFLX: Endpoint = { host: "203.0.113.20", port: 41641 };
const HOST: Endpoint = { host: "10.1.0.2", port: 41641 };
const A_PUBLIC: Endpoint = { host: "192.0.2.10", port: 41641 };
const CANDS: Candidate[] = [
  { kind: "srflx", endpoint: SRFLX },
  { kind: "host", endpoint: HOST },
];

function pair() {
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
  return { a, b };
}

const sends = (out: PunchOutput[]) => out.filter((o): o is PunchSend => o.type === "send");

/** The peer's answer to one of our pings. */
function pongFor(b: DiscoChannel, ping: PunchSend, observed = A_PUBLIC): Buffer {
  const msg = b.open(ping.packet);
  if (msg?.type !== "ping") throw new Error("not a ping");
  return b.pong(msg.txid, observed);
}

/** Runs the puncher's timers until `until`, collecting everything it outputs. */
function run(p: UdpPuncher, from: number, until: number): Array<PunchOutput & { at: number }> {
  const out: Array<PunchOutput & { at: number }> = [];
  let t: number | undefined = from;
  while (t !== undefined && t <= until) {
    for (const o of p.tick(t)) out.push({ ...o, at: t });
    const next = p.nextTimer();
    if (next !== undefined && next <= t) throw new Error(`timer did not advance at ${t}`);
    t = next;
  }
  return out;
}

describe("UdpPuncher", () => {
  it("primes the NAT with short-TTL pings to non-LAN candidates only, then waits for the start instant", () => {
    const { a } = pair();
    const p = new UdpPuncher(a, CANDS, 1_000);
    const out = p.start(0);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ type: "send", to: SRFLX, ttl: 2 });
    expect(p.nextTimer()).toBe(1_000);
    expect(p.tick(999)).toEqual([]);
    const first = sends(p.tick(1_000));
    expect(first.map((s) => s.to)).toEqual([HOST, SRFLX]);
    expect(first.every((s) => s.ttl === undefined)).toBe(true);
  });

  it("moves its start to a later instant, and restarts its probes from it if it began already", () => {
    const { a } = pair();
    const p = new UdpPuncher(a, CANDS, 1_000);
    p.start(0);
    expect(p.retime(900, 100)).toBe(false); // earlier: ignored
    expect(p.retime(1_600, 100)).toBe(true);
    expect(p.nextTimer()).toBe(1_600);
    expect(sends(p.tick(1_000))).toEqual([]);
    expect(sends(p.tick(1_600)).map((s) => s.to)).toEqual([HOST, SRFLX]);
    // Probing already (we acted on an earlier copy): probe again from the new instant.
    expect(p.retime(5_000, 1_700)).toBe(true);
    expect(p.nextTimer()).toBe(5_000);
    expect(sends(p.tick(4_999))).toEqual([]);
    expect(sends(p.tick(5_000)).map((s) => s.to)).toEqual([HOST, SRFLX]);
    expect(p.retime(4_000, 5_001)).toBe(false); // not later
  });

  it("sends no primer when primerTtl is 0 and probes at once when the start instant has passed", () => {
    const { a } = pair();
    const out = new UdpPuncher(a, CANDS, 1_000, { primerTtl: 0 }).start(5_000);
    expect(sends(out).map((s) => [s.to, s.ttl])).toEqual([
      [HOST, undefined],
      [SRFLX, undefined],
    ]);
  });

  it("backs off its probes, stops at the budget with a report, and is silent afterwards", () => {
    const { a } = pair();
    const p = new UdpPuncher(a, CANDS, 100, { budgetMs: 9_000 });
    p.start(0);
    const out = run(p, 100, 60_000);
    const toSrflx = out.filter((o) => o.type === "send" && o.to === SRFLX).map((o) => o.at);
    const gaps = toSrflx.slice(1).map((t, i) => t - toSrflx[i]);
    expect(gaps[0]).toBe(25);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]).toBeGreaterThanOrEqual(gaps[i - 1]);
    expect(Math.max(...gaps)).toBe(1_000);
    const failed = out.find((o) => o.type === "failed");
    expect(failed).toMatchObject({ type: "failed", code: "PUNCH_TIMEOUT", at: 9_100 });
    expect(out.filter((o) => o.type === "send").every((o) => o.at < 9_100)).toBe(true);
    if (failed?.type !== "failed") throw new Error("unreachable");
    expect(failed.tried).toMatchObject([
      { kind: "host", outcome: "no-reply", pongsReceived: 0 },
      { kind: "srflx", outcome: "no-reply", pingsSent: toSrflx.length + 1 }, // + the primer
    ]);
    expect(p.nextTimer()).toBeUndefined();
    expect(p.tick(70_000)).toEqual([]);
  });

  it("answers an authenticated ping with a pong to its source that reports that source", () => {
    const { a, b } = pair();
    const p = new UdpPuncher(a, CANDS, 100);
    p.start(0);
    const from = { host: "203.0.113.20", port: 41641 };
    const out = sends(p.handle(b.ping().packet, from, 50));
    const pongs = out.filter((s) => s.to === from).map((s) => b.open(s.packet));
    expect(pongs.find((m) => m?.type === "pong")).toMatchObject({ type: "pong", observed: from });
  });

  it("adds a ping's unknown source as a prflx candidate and pings it at once (triggered check)", () => {
    const { a, b } = pair();
    const p = new UdpPuncher(a, CANDS, 100);
    p.start(0);
    p.tick(100); // first round; the next is due at 125
    const remapped = { host: SRFLX.host, port: 50_123 };
    const out = sends(p.handle(b.ping().packet, remapped, 110));
    const kinds = out.map((s) => b.open(s.packet)?.type);
    expect(out.every((s) => s.to === remapped)).toBe(true);
    expect(kinds).toEqual(["pong", "ping"]);
    expect(p.report().map((r) => r.kind)).toEqual(["host", "srflx", "prflx"]);
  });

  it("connects on the first pong from a non-LAN candidate when the peer has no LAN candidates", () => {
    const { a, b } = pair();
    const p = new UdpPuncher(a, [CANDS[0]], 100, { primerTtl: 0 });
    const [ping] = sends(p.start(100));
    const msg = b.open(ping.packet);
    if (msg?.type !== "ping") throw new Error("not a ping");
    const out = p.handle(b.pong(msg.txid, A_PUBLIC), SRFLX, 142);
    expect(out).toEqual([
      expect.objectContaining({ type: "connected", endpoint: SRFLX, candidateKind: "srflx", rttMs: 42 }),
    ]);
    // Connected: it still answers the peer's pings (with a pong only), and nothing else happens.
    const late = sends(p.handle(b.ping().packet, SRFLX, 150));
    expect(late.map((s) => b.open(s.packet)?.type)).toEqual(["pong"]);
    expect(p.handle(b.pong(msg.txid, A_PUBLIC), SRFLX, 160)).toEqual([]); // a second, fresh pong
    expect(p.tick(10_000)).toEqual([]);
  });

  it("prefers a LAN candidate that answers within the window after a srflx answer", () => {
    const { a, b } = pair();
    const p = new UdpPuncher(a, CANDS, 100, { primerTtl: 0, hostPreferWindowMs: 120 });
    const [toHost, toSrflx] = sends(p.start(100));
    expect(p.handle(pongFor(b, toSrflx), SRFLX, 130)).toEqual([]);
    expect(p.state).toBe("choosing");
    const out = p.handle(pongFor(b, toHost), HOST, 200);
    expect(out).toEqual([
      expect.objectContaining({ type: "connected", candidateKind: "host", endpoint: HOST }),
    ]);
  });

  it("takes the srflx path when no LAN candidate answers within the window, probing only LAN meanwhile", () => {
    const { a, b } = pair();
    const p = new UdpPuncher(a, CANDS, 100, { primerTtl: 0, hostPreferWindowMs: 120 });
    const [, toSrflx] = sends(p.start(100));
    p.handle(pongFor(b, toSrflx), SRFLX, 140);
    const out = run(p, 141, 1_000);
    expect(out.filter((o) => o.type === "send").every((o) => o.type === "send" && o.to === HOST)).toBe(true);
    expect(out.at(-1)).toMatchObject({ type: "connected", candidateKind: "srflx", at: 260, rttMs: 40 });
  });

  it("never selects a path on a forged, replayed, tampered or unsolicited pong", () => {
    const { a, b } = pair();
    const p = new UdpPuncher(a, [CANDS[0]], 100, { primerTtl: 0 });
    const [toSrflx] = sends(p.start(100));
    const kc = generateKeyPair();
    // Mallory knows b's public key, not its private key: she seals with her own key, claiming to be b.
    const mallory = new DiscoChannel(
      new StaticBox(kc.privateKey, kc.publicKey, ka.publicKey, "disco"),
      kb.publicKey,
      ka.publicKey,
    );
    const txid = Buffer.alloc(12);
    expect(p.handle(mallory.pong(txid, A_PUBLIC), SRFLX, 110)).toEqual([]);
    // A genuine pong from b for a txid we never sent.
    expect(p.handle(b.pong(Buffer.alloc(12, 7), A_PUBLIC), SRFLX, 111)).toEqual([]);
    // The genuine answer with one bit flipped.
    const good = pongFor(b, toSrflx);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 1] ^= 1;
    expect(p.handle(flipped, SRFLX, 112)).toEqual([]);
    expect(p.state).toBe("probing");
    expect(p.counters.unknownPongs).toBe(1);
    // The genuine pong connects once; a second attempt fed the same bytes rejects the replay.
    expect(p.handle(good, SRFLX, 140)[0]).toMatchObject({ type: "connected" });
    const again = new UdpPuncher(a, CANDS, 100, { primerTtl: 0 });
    again.start(200);
    expect(again.handle(good, SRFLX, 210)).toEqual([]);
    expect(again.state).toBe("probing");
  });

  it("treats an address announced as both srflx and host as one LAN path, and ignores unusable ones", () => {
    const { a } = pair();
    const p = new UdpPuncher(
      a,
      [
        { kind: "srflx", endpoint: { host: "127.0.0.1", port: 5000 } },
        { kind: "host", endpoint: { host: "127.0.0.1", port: 5000 } },
        { kind: "host", endpoint: { host: "0.0.0.0", port: 5000 } },
        { kind: "tcp", endpoint: { host: "127.0.0.1", port: 5001 } },
        { kind: "srflx", endpoint: { host: "127.0.0.1", port: 0 } },
      ],
      0,
    );
    expect(p.report().map((r) => [r.kind, r.endpoint.port])).toEqual([["host", 5000]]);
  });

  it("fails at once, saying so, when the peer offers no usable candidate", () => {
    const { a } = pair();
    const out = new UdpPuncher(a, [{ kind: "tcp", endpoint: SRFLX }], 100).start(0);
    expect(out).toEqual([expect.objectContaining({ type: "failed", code: "PUNCH_NO_CANDIDATES" })]);
  });

  it("never throws and stays bounded whatever arrives (random bytes, pings from many addresses)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            raw: fc.option(fc.uint8Array({ maxLength: 120 }), { nil: undefined }),
            port: fc.integer({ min: 1, max: 65_535 }),
            at: fc.integer({ min: 0, max: 12_000 }),
          }),
          { maxLength: 60 },
        ),
        (events) => {
          const { a, b } = pair();
          const p = new UdpPuncher(a, CANDS, 100, { budgetMs: 9_000 });
          let sent = sends(p.start(0)).length;
          let results = 0;
          for (const e of events.sort((x, y) => x.at - y.at)) {
            const packet = e.raw ? Buffer.from(e.raw) : b.ping().packet;
            const out = p.handle(packet, { host: "198.51.100.9", port: e.port }, e.at);
            sent += sends(out).length;
            results += out.filter((o) => o.type !== "send").length;
          }
          const rest = run(p, 0, 20_000);
          sent += rest.filter((o) => o.type === "send").length;
          results += rest.filter((o) => o.type !== "send").length;
          expect(results).toBe(1);
          // 6 candidates (2 + 4 prflx) × 24 pings, plus one pong per authenticated ping.
          expect(sent).toBeLessThanOrEqual(6 * 24 + events.length);
        },
      ),
      { numRuns: 60 },
    );
  });
});
