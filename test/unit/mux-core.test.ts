/**
 * The sans-I/O core driven by hand with a virtual clock: no sockets, no timers, deterministic.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GOAWAY, RESET } from "../../src/tunnel/mux/codes.js";
import {
  DEFAULT_MAX_FRAME_SIZE,
  FLAG_FIN,
  FrameType,
  HEADER_SIZE,
  INITIAL_STREAM_WINDOW,
  MAX_DATA_BODY,
} from "../../src/tunnel/mux/constants.js";
import { MuxCore, type MuxCoreOptions, type MuxEvent } from "../../src/tunnel/mux/core.js";
import { FrameDecoder } from "../../src/tunnel/mux/decoder.js";
import {
  encodeAccept,
  encodeData,
  encodeOpen,
  encodePing,
  encodeReset,
  encodeWindowUpdate,
  type Frame,
} from "../../src/tunnel/mux/frame.js";

function pullAll(core: MuxCore, max = Number.POSITIVE_INFINITY): Buffer {
  const out: Buffer[] = [];
  core.pull(max, out);
  return Buffer.concat(out);
}

function frames(bytes: Buffer): Frame[] {
  const d = new FrameDecoder(MAX_DATA_BODY);
  d.push(bytes);
  const out: Frame[] = [];
  for (let f = d.next(); f; f = d.next()) out.push(f);
  expect(d.error).toBeNull();
  return out;
}

function events(core: MuxCore): MuxEvent[] {
  const out: MuxEvent[] = [];
  for (let e = core.pollEvent(); e; e = core.pollEvent()) out.push(e);
  return out;
}

/** Two cores and a manual wire between them. */
function pair(opts: Partial<MuxCoreOptions> = {}) {
  let now = 0;
  const a = new MuxCore({ keepaliveIntervalMs: 0, ...opts, initiator: true }, now);
  const b = new MuxCore({ keepaliveIntervalMs: 0, ...opts, initiator: false }, now);
  return {
    a,
    b,
    advance(ms: number) {
      now += ms;
    },
    get now() {
      return now;
    },
    /** Moves everything queued in both directions until both are idle. */
    settle() {
      for (let i = 0; i < 1000 && (a.hasOutput() || b.hasOutput()); i++) {
        if (a.hasOutput()) b.receive(pullAll(a), now);
        if (b.hasOutput()) a.receive(pullAll(b), now);
      }
    },
  };
}

/** Opens a stream from a to b and accepts it; returns its id. */
function openAccepted(p: ReturnType<typeof pair>, target = "127.0.0.1:22"): number {
  const id = p.a.open(target, p.now);
  p.settle();
  const inc = events(p.b).find((e) => e.type === "incoming");
  expect(inc).toEqual({ type: "incoming", id, target });
  p.b.accept(id);
  p.settle();
  expect(events(p.a)).toContainEqual({ type: "accepted", id });
  return id;
}

/** b pings a; the PONG comes back `rtt` ms later. */
function measureRtt(p: ReturnType<typeof pair>, rtt: number): void {
  p.b.ping(p.now);
  p.a.receive(pullAll(p.b), p.now);
  p.advance(rtt);
  p.b.receive(pullAll(p.a), p.now);
}

function closedEvent(core: MuxCore): Extract<MuxEvent, { type: "closed" }> | undefined {
  return events(core).find((e): e is Extract<MuxEvent, { type: "closed" }> => e.type === "closed");
}

describe("mux core: stream lifecycle", () => {
  it("gives the initiator odd ids and the responder even ids, so both can open at once", () => {
    const p = pair();
    const ida = [p.a.open("x:1", 0), p.a.open("x:2", 0)];
    const idb = [p.b.open("y:1", 0), p.b.open("y:2", 0)];
    expect(ida).toEqual([1, 3]);
    expect(idb).toEqual([2, 4]);
    p.settle();
    expect(events(p.a).filter((e) => e.type === "incoming")).toHaveLength(2);
    expect(events(p.b).filter((e) => e.type === "incoming")).toHaveLength(2);
    expect(p.a.counters.protocolErrors + p.b.counters.protocolErrors).toBe(0);
  });

  it("holds data written before ACCEPT and sends it after", () => {
    const p = pair();
    const id = p.a.open("svc:1", 0);
    p.a.write(id, Buffer.from("early"));
    const first = frames(pullAll(p.a));
    expect(first.map((f) => f.type)).toEqual([FrameType.OPEN]);
    p.b.receive(encodeOpen(id, "svc:1"), 0);
    p.b.accept(id);
    p.a.receive(pullAll(p.b), 0);
    const after = frames(pullAll(p.a));
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ type: FrameType.DATA, streamId: id });
    expect(after[0].body.toString()).toBe("early");
  });

  it("half-closes each way independently and forgets the stream when both FINs are out", () => {
    const p = pair();
    const id = openAccepted(p);
    p.a.write(id, Buffer.from("req"));
    p.a.finish(id);
    p.settle();
    expect(events(p.b)).toEqual([
      { type: "data", id, data: Buffer.from("req") },
      { type: "fin", id },
    ]);
    // b can still answer after a's FIN.
    p.b.write(id, Buffer.from("resp"));
    p.b.finish(id);
    p.settle();
    expect(events(p.a)).toEqual([
      { type: "data", id, data: Buffer.from("resp") },
      { type: "fin", id },
    ]);
    expect(p.a.streamCount).toBe(0);
    expect(p.b.streamCount).toBe(0);
  });

  it("refusal reaches the opener as a reset with code and reason", () => {
    const p = pair();
    const id = p.a.open("10.0.0.9:22", 0);
    p.settle();
    events(p.b);
    p.b.reset(id, RESET.REFUSED_BY_POLICY, "joe may not reach 10.0.0.9:22");
    p.settle();
    expect(events(p.a)).toEqual([
      { type: "reset", id, code: RESET.REFUSED_BY_POLICY, reason: "joe may not reach 10.0.0.9:22" },
    ]);
    expect(p.a.streamCount).toBe(0);
    expect(p.b.counters.streamsRefused).toBe(1);
  });

  it("refuses OPENs beyond maxStreams without ending the session", () => {
    const p = pair({ maxStreams: 2 });
    p.a.open("a:1", 0);
    p.a.open("a:2", 0);
    expect(p.a.openRefusal()?.code).toBe(RESET.TOO_MANY_STREAMS);
    p.settle();
    // A peer that ignores our limit gets a RESET, not a GO_AWAY.
    p.b.receive(encodeOpen(5, "a:3"), 0);
    const reply = frames(pullAll(p.b));
    expect(reply.map((f) => [f.type, f.streamId, f.body.readUInt16BE(0)])).toEqual([
      [FrameType.RESET, 5, RESET.TOO_MANY_STREAMS],
    ]);
    expect(p.b.isClosed).toBe(false);
  });

  it("release() resets an unfinished stream but not a cleanly finished one", () => {
    const p = pair();
    const id = openAccepted(p);
    p.a.release(id, RESET.CANCELLED, "gave up");
    p.settle();
    expect(events(p.b)).toEqual([{ type: "reset", id, code: RESET.CANCELLED, reason: "gave up" }]);

    const id2 = openAccepted(p);
    p.a.finish(id2);
    p.b.finish(id2);
    p.b.receive(pullAll(p.a), 0); // a's FIN reaches b; b's FIN not yet pulled
    p.a.receive(pullAll(p.b), 0);
    p.a.release(id2, RESET.CANCELLED, "done");
    expect(pullAll(p.a).length).toBe(0);
    expect(p.a.counters.resetsSent).toBe(1);
  });
});

describe("mux core: flow control and scheduling", () => {
  it("stops at the initial window and resumes when the reader consumes", () => {
    const p = pair();
    const id = openAccepted(p);
    p.a.write(id, Buffer.alloc(INITIAL_STREAM_WINDOW * 2));
    p.settle();
    const got = events(p.b).filter((e) => e.type === "data");
    const total = got.reduce((n, e) => n + (e.type === "data" ? e.data.length : 0), 0);
    expect(total).toBe(INITIAL_STREAM_WINDOW);
    expect(p.a.queuedBytes(id)).toBe(INITIAL_STREAM_WINDOW);
    // Less than half a window consumed: no update yet.
    p.b.consumed(id, INITIAL_STREAM_WINDOW / 2 - 1, p.now);
    expect(p.b.hasOutput()).toBe(false);
    p.b.consumed(id, 1, p.now);
    p.settle();
    const more = events(p.b).reduce((n, e) => n + (e.type === "data" ? e.data.length : 0), 0);
    expect(more).toBe(INITIAL_STREAM_WINDOW / 2);
  });

  it("treats data beyond the window as a protocol violation: GO_AWAY, counted, no throw", () => {
    const p = pair();
    const id = openAccepted(p);
    const full = Buffer.alloc(DEFAULT_MAX_FRAME_SIZE);
    for (let sent = 0; sent < INITIAL_STREAM_WINDOW; sent += full.length)
      p.b.receive(encodeData(id, full), 0);
    expect(p.b.isClosed).toBe(false);
    p.b.receive(encodeData(id, Buffer.alloc(1)), 0);
    expect(p.b.isClosed).toBe(true);
    expect(p.b.counters.protocolErrors).toBe(1);
    const out = frames(pullAll(p.b));
    expect(out.at(-1)?.type).toBe(FrameType.GO_AWAY);
    expect(out.at(-1)?.body.readUInt16BE(0)).toBe(GOAWAY.PROTOCOL_ERROR);
    expect(out.at(-1)?.body.toString("utf8", 2)).toMatch(/overran its receive window/);
    const ev = events(p.b).at(-1);
    expect(ev).toMatchObject({ type: "closed", code: GOAWAY.PROTOCOL_ERROR, byPeer: false });
  });

  it("serves busy streams round-robin, one frame each per turn, control frames first", () => {
    const p = pair();
    const ids = [openAccepted(p), openAccepted(p), openAccepted(p)];
    for (const id of ids) p.a.write(id, Buffer.alloc(3 * DEFAULT_MAX_FRAME_SIZE));
    p.a.ping(0);
    const out = frames(pullAll(p.a));
    expect(out[0].type).toBe(FrameType.PING);
    expect(out.slice(1).map((f) => f.streamId)).toEqual([...ids, ...ids, ...ids]);
    expect(out.slice(1).every((f) => f.body.length === DEFAULT_MAX_FRAME_SIZE)).toBe(true);
  });

  it("maxFrameSize only limits what we send; 64 KiB bodies from the peer are always accepted", () => {
    const small = new MuxCore({ initiator: true, keepaliveIntervalMs: 0, maxFrameSize: 1000 }, 0);
    const big = new MuxCore({ initiator: false, keepaliveIntervalMs: 0, maxFrameSize: MAX_DATA_BODY }, 0);
    const id = small.open("x:1", 0);
    big.receive(pullAll(small), 0);
    big.accept(id);
    small.receive(pullAll(big), 0);
    small.write(id, Buffer.alloc(2500));
    expect(frames(pullAll(small)).map((f) => f.body.length)).toEqual([1000, 1000, 500]);
    big.write(id, Buffer.alloc(MAX_DATA_BODY));
    small.receive(pullAll(big), 0);
    expect(small.isClosed).toBe(false);
    const data = events(small).filter((e) => e.type === "data");
    expect(data.map((e) => (e.type === "data" ? e.data.length : 0))).toEqual([MAX_DATA_BODY]);
  });

  it("a stream without credit does not hold up the others", () => {
    const p = pair();
    const stuck = openAccepted(p);
    const free = openAccepted(p);
    p.a.write(stuck, Buffer.alloc(INITIAL_STREAM_WINDOW + 1000));
    p.settle(); // b never consumes on `stuck`
    p.a.write(free, Buffer.from("still flowing"));
    p.settle();
    const ev = events(p.b).filter((e) => e.type === "data" && e.id === free);
    expect(ev).toEqual([{ type: "data", id: free, data: Buffer.from("still flowing") }]);
    expect(p.a.queuedBytes(stuck)).toBe(1000);
  });

  it("grows the receive window when the reader keeps up within two RTTs, up to the cap", () => {
    const cap = 4 * INITIAL_STREAM_WINDOW;
    const p = pair({ maxStreamWindow: cap });
    measureRtt(p, 50);
    expect(p.b.srttMs).toBe(50);
    const id = openAccepted(p);
    const deltas: number[] = [];
    for (let i = 0; i < 6; i++) {
      p.advance(10); // a fast reader: half a window in 10 ms < 2 × 50 ms
      p.b.consumed(id, INITIAL_STREAM_WINDOW, p.now);
      const f = frames(pullAll(p.b));
      deltas.push(f.length === 0 ? 0 : f[0].body.readUInt32BE(0));
    }
    // 256K consumed each time. The window doubles 256K → 512K → 1M (the cap); after that credit
    // is granted per half window (512K) consumed, with no growth.
    const K = INITIAL_STREAM_WINDOW;
    expect(deltas).toEqual([2 * K, 3 * K, 0, 2 * K, 0, 2 * K]);
    expect(p.b.counters.windowGrowths).toBe(2);
  });

  it("does not grow the window for a slow reader", () => {
    const p = pair();
    measureRtt(p, 20);
    expect(p.b.srttMs).toBe(20);
    const id = openAccepted(p);
    for (let i = 0; i < 4; i++) {
      p.advance(1000);
      p.b.consumed(id, INITIAL_STREAM_WINDOW / 2, p.now);
      expect(frames(pullAll(p.b))[0].body.readUInt32BE(0)).toBe(INITIAL_STREAM_WINDOW / 2);
    }
    expect(p.b.counters.windowGrowths).toBe(0);
  });
});

describe("mux core: protocol violations end the session, late frames are dropped", () => {
  const violations: [string, (p: ReturnType<typeof pair>, id: number) => Buffer][] = [
    ["DATA on a never-opened stream", () => encodeData(99, Buffer.from("x"))],
    ["OPEN with our own parity", () => encodeOpen(2, "x:1")],
    ["OPEN reusing an id", (_p, id) => encodeOpen(id, "x:1")],
    ["ACCEPT for a stream not awaiting one", (_p, id) => encodeAccept(id)],
    [
      "DATA after FIN",
      (_p, id) => Buffer.concat([encodeData(id, Buffer.alloc(0), true), encodeData(id, Buffer.from("x"))]),
    ],
    [
      "malformed WINDOW_UPDATE",
      (_p, id) => Buffer.concat([encodeWindowUpdate(id, 1).subarray(0, 9), Buffer.from([0, 0, 0, 2, 1, 1])]),
    ],
    [
      "window update overflow",
      (_p, id) => Buffer.concat([encodeWindowUpdate(id, 0xffffffff), encodeWindowUpdate(id, 0xffffffff)]),
    ],
    ["unknown frame type", () => Buffer.from([0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0])],
    ["oversized frame", () => Buffer.from([0, 0, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff])],
  ];
  for (const [name, make] of violations) {
    it(name, () => {
      const p = pair();
      // b is the responder; stream opened by a and accepted by b
      const id = openAccepted(p);
      events(p.b);
      expect(() => p.b.receive(make(p, id), 0)).not.toThrow();
      expect(p.b.isClosed).toBe(true);
      expect(p.b.counters.protocolErrors).toBe(1);
      expect(closedEvent(p.b)).toMatchObject({ code: GOAWAY.PROTOCOL_ERROR, byPeer: false });
      // The peer learns why, and ends too.
      p.a.receive(pullAll(p.b), 0);
      expect(closedEvent(p.a)).toMatchObject({ code: GOAWAY.PROTOCOL_ERROR, byPeer: true });
    });
  }

  it("DATA on a stream not yet accepted", () => {
    const p = pair();
    const id = p.a.open("x:1", 0);
    p.settle();
    p.b.receive(encodeData(id, Buffer.from("too early")), 0);
    expect(p.b.isClosed).toBe(true);
  });

  it("drops frames for streams that ended (a reset racing data), counting them", () => {
    const p = pair();
    const id = openAccepted(p);
    p.a.write(id, Buffer.from("in flight"));
    const inFlight = pullAll(p.a);
    p.b.reset(id, RESET.CANCELLED, "bye");
    p.b.receive(inFlight, 0);
    p.b.receive(encodeWindowUpdate(id, 100), 0);
    p.b.receive(encodeReset(id, RESET.CANCELLED, "crossing"), 0);
    expect(p.b.isClosed).toBe(false);
    expect(p.b.counters.staleFrames).toBe(3);
    expect(events(p.b).filter((e) => e.type !== "incoming")).toEqual([]);
  });

  it("never throws and never emits events for unknown streams, whatever the peer sends", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
            fc
              .tuple(
                fc.integer({ min: 0, max: 7 }),
                fc.integer({ min: 0, max: 3 }),
                fc.integer({ min: 0, max: 8 }),
                fc.uint8Array({ maxLength: 40 }),
              )
              .map(([type, flags, id, body]) => {
                const h = Buffer.alloc(HEADER_SIZE);
                h[0] = type;
                h[1] = flags;
                h.writeUInt32BE(id, 2);
                h.writeUInt32BE(body.length, 6);
                return Buffer.concat([h, Buffer.from(body)]);
              }),
          ),
          { maxLength: 30 },
        ),
        (chunks) => {
          const core = new MuxCore({ initiator: true }, 0);
          core.open("a:1", 0);
          const known = new Set([1]);
          for (const c of chunks) {
            core.receive(c, 0);
            for (let e = core.pollEvent(); e; e = core.pollEvent()) {
              if (e.type === "incoming") known.add(e.id);
              if (e.type !== "closed") expect(known.has(e.id)).toBe(true);
            }
            pullAll(core);
          }
          expect(core.counters.protocolErrors).toBeLessThanOrEqual(1);
        },
      ),
    );
  });
});

describe("mux core: keepalive timer", () => {
  it("pings every interval and ends a silent session at the timeout", () => {
    const core = new MuxCore({ initiator: true, keepaliveIntervalMs: 1000, keepaliveTimeoutMs: 3000 }, 0);
    expect(core.nextTimerAt()).toBe(1000);
    core.onTimer(1000);
    expect(frames(pullAll(core)).map((f) => f.type)).toEqual([FrameType.PING]);
    expect(core.nextTimerAt()).toBe(2000);
    core.onTimer(2000);
    pullAll(core);
    // Anything received postpones the timeout.
    core.receive(encodePing(Buffer.alloc(8)), 2500);
    expect(core.nextTimerAt()).toBe(3000);
    core.onTimer(3000);
    core.onTimer(4000);
    expect(core.isClosed).toBe(false);
    core.onTimer(5500);
    expect(core.isClosed).toBe(true);
    expect(closedEvent(core)).toMatchObject({ code: GOAWAY.KEEPALIVE_TIMEOUT, byPeer: false });
    expect(frames(pullAll(core)).at(-1)?.type).toBe(FrameType.GO_AWAY);
    expect(core.nextTimerAt()).toBeNull();
  });

  it("answers PING with PONG carrying the same bytes, and measures RTT from PONG", () => {
    const p = pair();
    p.a.ping(100);
    p.b.receive(pullAll(p.a), 100);
    const pong = frames(pullAll(p.b));
    expect(pong[0].type).toBe(FrameType.PONG);
    p.a.receive(Buffer.concat([Buffer.from([FrameType.PONG, 0, 0, 0, 0, 0, 0, 0, 0, 8]), pong[0].body]), 130);
    expect(p.a.srttMs).toBe(30);
    // A PONG nobody asked for is dropped and counted.
    p.a.receive(encodePing(Buffer.alloc(8, 9), true), 140);
    expect(p.a.counters.staleFrames).toBe(1);
    expect(p.a.isClosed).toBe(false);
  });

  it("keeps FIN-flagged empty DATA valid", () => {
    const p = pair();
    const id = openAccepted(p);
    p.b.receive(Buffer.from([FrameType.DATA, FLAG_FIN, 0, 0, 0, id, 0, 0, 0, 0]), 0);
    expect(events(p.b)).toEqual([{ type: "fin", id }]);
  });
});
