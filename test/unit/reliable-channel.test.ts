/**
 * Behaviour of one ReliableChannel pair driven by hand with a virtual clock: loss detection,
 * probe timeouts, liveness, flow control, PMTU probing and close.
 */
import { describe, expect, it } from "vitest";
import { ReliableChannel } from "../../src/tunnel/reliable/channel.js";
import { ReliableOptionsError } from "../../src/tunnel/reliable/errors.js";
import { decodePacket } from "../../src/tunnel/reliable/packet.js";
import type { ReliableChannelOptions } from "../../src/tunnel/reliable/types.js";
import { simulate } from "../sim/harness.js";

function pair(opts: Partial<ReliableChannelOptions> = {}): [ReliableChannel, ReliableChannel] {
  return [new ReliableChannel({ now: 0, ...opts }), new ReliableChannel({ now: 0, ...opts })];
}

/** Every datagram `ch` wants to send at `now`. */
function drain(ch: ReliableChannel, now: number): Buffer[] {
  const out: Buffer[] = [];
  for (let p = ch.poll(now); p !== null; p = ch.poll(now)) out.push(p);
  return out;
}

function readAll(ch: ReliableChannel): Buffer {
  const parts: Buffer[] = [];
  for (let c = ch.read(); c !== null; c = ch.read()) parts.push(c);
  return Buffer.concat(parts);
}

function streamOffsets(pkts: Buffer[]): number[] {
  return pkts.flatMap((p) => decodePacket(p)?.streams.map((s) => s.offset) ?? []);
}

const data = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + (i >> 8)) & 0xff));

describe("loss detection", () => {
  it("declares a packet lost after three later packets are acknowledged and resends its data", () => {
    const [a, b] = pair();
    const payload = data(10_000);
    a.write(payload, 0);
    const sent = drain(a, 0);
    expect(sent.length).toBeGreaterThan(4);
    const droppedOffset = streamOffsets([sent[1]])[0];
    for (const [i, p] of sent.entries()) if (i !== 1) b.receive(p, 10);
    for (const p of drain(b, 10)) a.receive(p, 20);
    expect(a.stats().packetsLost).toBe(1);
    const resent = drain(a, 20);
    expect(streamOffsets(resent)).toContain(droppedOffset);
    for (const p of resent) b.receive(p, 30);
    expect(readAll(b).equals(payload)).toBe(true);
  });

  it("declares a packet lost by the time threshold (9/8 RTT) when too few packets follow it", () => {
    const [a, b] = pair({ maxDatagramSize: 1200 }); // no PMTU probes in the way
    // First establish an RTT of 20 ms (two packets: acknowledged at once).
    a.write(data(2000), 0);
    for (const p of drain(a, 0)) b.receive(p, 10);
    for (const p of drain(b, 10)) a.receive(p, 20);
    expect(a.stats().srttMs).toBeCloseTo(20, 5);
    a.write(data(2000), 100);
    const sent = drain(a, 100);
    expect(sent.length).toBe(2);
    b.receive(sent[1], 110);
    for (const p of drain(b, 110)) a.receive(p, 120); // out of order → immediate ACK
    expect(a.stats().packetsLost).toBe(0);
    const deadline = a.nextTimeout() ?? Number.NaN;
    expect(deadline).toBeCloseTo(100 + (9 / 8) * 20, 5);
    expect(drain(a, deadline - 0.5)).toEqual([]);
    const resent = drain(a, deadline);
    expect(a.stats().packetsLost).toBe(1);
    expect(streamOffsets(resent)).toEqual(streamOffsets([sent[0]]));
  });

  it("backs the probe timeout off exponentially while nothing is acknowledged", () => {
    const a = new ReliableChannel({ now: 0, deadPeerTimeoutMs: 0, idleTimeoutMs: 0, maxPtoCount: 8 });
    a.write(data(500), 0);
    expect(drain(a, 0).length).toBe(1);
    const probeTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = a.nextTimeout() ?? Number.NaN;
      const probes = drain(a, t);
      expect(probes.length).toBe(2); // two probes per expiry
      expect(streamOffsets(probes)).toContain(0); // they carry the unacknowledged data
      probeTimes.push(t);
    }
    const gaps = probeTimes.slice(1).map((t, i) => t - probeTimes[i]);
    // Doubling each time, up to the cap of 8 s per period.
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]).toBeCloseTo(Math.min(2 * gaps[i - 1], 8000), 6);
    expect(gaps.at(-1)).toBe(8000);
    expect(a.stats().probeTimeouts).toBe(5);
  });

  it("starts the probe backoff over when the path changed, so the new path is probed at once", () => {
    const a = new ReliableChannel({ now: 0, deadPeerTimeoutMs: 0, idleTimeoutMs: 0, maxPtoCount: 8 });
    a.write(data(500), 0);
    drain(a, 0);
    let t = 0;
    for (let i = 0; i < 5; i++) {
      t = a.nextTimeout() ?? Number.NaN;
      drain(a, t);
    }
    const backedOff = (a.nextTimeout() ?? Number.NaN) - t;
    expect(backedOff).toBe(8000);
    // A re-punch at t + 1 s: the next probe goes one base PTO after the last send, not 8 s.
    a.pathChanged();
    expect(a.stats().ptoCount).toBe(0);
    expect((a.nextTimeout() ?? Number.NaN) - t).toBeLessThan(backedOff / 4);
    expect(streamOffsets(drain(a, Math.max(t + 1000, a.nextTimeout() ?? 0)))).toContain(0);
  });
});

describe("acknowledgements", () => {
  it("acks every second packet at once, a lone packet after max_ack_delay", () => {
    // A window no larger than the initial credit: no MAX_DATA packet at start.
    const [a, b] = pair({ maxAckDelayMs: 25, recvWindowBytes: 256 * 1024 });
    a.write(data(1000), 0);
    for (const p of drain(a, 0)) b.receive(p, 5);
    expect(drain(b, 5)).toEqual([]);
    expect(b.nextTimeout()).toBe(30);
    const acks = drain(b, 30);
    expect(acks.length).toBe(1);
    expect(decodePacket(acks[0])?.ack?.largest).toBe(0);
    a.write(data(3000), 40);
    for (const p of drain(a, 40)) b.receive(p, 45);
    expect(drain(b, 45).length).toBe(1);
  });
});

describe("liveness", () => {
  it("sends a keepalive PING only after keepaliveMs without traffic", () => {
    const [a, b] = pair({ keepaliveMs: 1000, idleTimeoutMs: 5000, recvWindowBytes: 256 * 1024 });
    expect(a.nextTimeout()).toBe(1000);
    expect(drain(a, 999)).toEqual([]);
    const pings = drain(a, 1000);
    expect(pings.length).toBe(1);
    expect(decodePacket(pings[0])?.ping).toBe(true);
    // Both keep each other alive well past the idle timeout.
    let now = 1000;
    let inFlight = pings;
    let bInFlight: Buffer[] = [];
    while (now < 20_000) {
      for (const p of inFlight) b.receive(p, now + 5);
      for (const p of bInFlight) a.receive(p, now + 5);
      now += 5;
      bInFlight = drain(b, now);
      inFlight = drain(a, now);
      const next = Math.min(
        a.nextTimeout() ?? Number.POSITIVE_INFINITY,
        b.nextTimeout() ?? Number.POSITIVE_INFINITY,
      );
      if (inFlight.length === 0 && bInFlight.length === 0) now = Math.max(now, next);
    }
    expect(a.state).toBe("open");
    expect(b.state).toBe("open");
  });

  it("rides out a 2 s outage: persistent congestion resets the window, the transfer completes", () => {
    let phase = 0;
    const r = simulate({
      seed: 6,
      bytesAtoB: 4_000_000,
      linkAtoB: { delayMs: 5, bandwidthMbps: 50, queueBytes: 100_000 },
      linkBtoA: { delayMs: 5 },
      observe: (sim) => {
        if (phase === 0 && sim.now >= 200) {
          sim.linkAtoB.config.loss = 1;
          sim.linkBtoA.config.loss = 1;
          phase = 1;
        } else if (phase === 1 && sim.now >= 2200) {
          sim.linkAtoB.config.loss = 0;
          sim.linkBtoA.config.loss = 0;
          phase = 2;
        }
      },
    });
    expect(phase).toBe(2);
    expect(r.done).toBe(true);
    expect(r.statsA.state).toBe("open");
    expect(r.statsA.persistentCongestion).toBeGreaterThan(0);
  });

  it("dies with idle_timeout when nothing arrives", () => {
    const a = new ReliableChannel({
      now: 0,
      keepaliveMs: 0,
      idleTimeoutMs: 3000,
      recvWindowBytes: 256 * 1024,
    });
    expect(a.nextTimeout()).toBe(3000);
    drain(a, 2999);
    expect(a.state).toBe("open");
    drain(a, 3000);
    expect(a.state).toBe("dead");
    expect(a.deadReason).toBe("idle_timeout");
    expect(a.nextTimeout()).toBeUndefined();
    expect(a.writable).toBe(false);
  });

  it("dies with peer_unresponsive when data is never acknowledged", () => {
    const a = new ReliableChannel({ now: 0, idleTimeoutMs: 0, deadPeerTimeoutMs: 5000 });
    a.write(data(5000), 0);
    let now = 0;
    let diedAt = -1;
    while (diedAt < 0) {
      drain(a, now);
      if (a.state === "dead") diedAt = now;
      else now = a.nextTimeout() ?? Number.NaN;
    }
    expect(a.deadReason).toBe("peer_unresponsive");
    expect(diedAt).toBe(5000);
  });
});

describe("flow control", () => {
  it("a reader that stops reading bounds both sides' memory, and the transfer completes after", () => {
    const sendBufferBytes = 200_000;
    const recvWindowBytes = 300_000;
    let maxSendBuffered = 0;
    let maxRecvBuffered = 0;
    let sawUnwritable = false;
    const r = simulate({
      seed: 7,
      bytesAtoB: 3_000_000,
      linkAtoB: { delayMs: 5 },
      channel: { sendBufferBytes, recvWindowBytes },
      maxChunk: 16_000,
      readerPausedUntilMs: 2000,
      observe: (sim) => {
        const sa = sim.a.channel.stats();
        const sb = sim.b.channel.stats();
        maxSendBuffered = Math.max(maxSendBuffered, sa.sendBuffered);
        maxRecvBuffered = Math.max(maxRecvBuffered, sb.recvBuffered);
        if (sim.now < 2000) {
          // While the reader sleeps the sender is blocked, not growing.
          sawUnwritable ||= !sim.a.channel.writable;
          expect(sb.bytesDelivered).toBeLessThanOrEqual(recvWindowBytes);
        }
      },
    });
    expect(r.done).toBe(true);
    expect(sawUnwritable).toBe(true);
    expect(maxSendBuffered).toBeLessThan(sendBufferBytes + 16_000);
    expect(maxRecvBuffered).toBeLessThanOrEqual(recvWindowBytes);
  });

  it("repeats a lost MAX_DATA as soon as the peer sends, without waiting for a probe timeout", () => {
    const [a, b] = pair({ recvWindowBytes: 2_000_000, maxDatagramSize: 1200 });
    const firstFromB = drain(b, 0);
    expect(decodePacket(firstFromB[0])?.maxData).toBe(2_000_000); // the announcement... lost
    const payload = data(1_000_000);
    a.write(payload, 0);
    const got: Buffer[] = [];
    let now = 0;
    for (let round = 0; round < 400 && got.reduce((n, c) => n + c.length, 0) < payload.length; round++) {
      for (const p of drain(a, now)) b.receive(p, now + 1);
      for (const p of drain(b, now + 1)) a.receive(p, now + 2);
      got.push(readAll(b));
      now += 2;
    }
    expect(Buffer.concat(got).equals(payload)).toBe(true);
    expect(b.stats().probeTimeouts).toBe(0);
    expect(a.stats().probeTimeouts).toBe(0);
  });

  it("writable turns false over the limit and true again once acknowledged", () => {
    const [a, b] = pair({ sendBufferBytes: 10_000 });
    expect(a.write(data(6000), 0)).toBe(true);
    expect(a.write(data(6000), 0)).toBe(false);
    expect(a.writable).toBe(false);
    let now = 0;
    for (let i = 0; i < 20 && !a.writable; i++) {
      for (const p of drain(a, now)) b.receive(p, now + 1);
      for (const p of drain(b, now + 1)) a.receive(p, now + 2);
      now += 30;
    }
    expect(a.writable).toBe(true);
    expect(readAll(b).length).toBe(12_000);
  });
});

describe("PMTU probing", () => {
  it("reaches the configured maximum on a path that carries it", () => {
    const r = simulate({
      seed: 1,
      bytesAtoB: 2_000_000,
      linkAtoB: { delayMs: 1 },
      channel: { overhead: 30, maxDatagramSize: 65_000 },
    });
    expect(r.done).toBe(true);
    expect(r.statsA.datagramSize).toBe(65_000);
  });

  it("settles below a smaller path MTU without treating lost probes as congestion", () => {
    for (const mtu of [1400, 9000]) {
      const r = simulate({
        seed: 2,
        bytesAtoB: 10_000_000,
        linkAtoB: { delayMs: 2, mtu },
        linkBtoA: { delayMs: 2 },
        channel: { overhead: 30, maxDatagramSize: 65_000 },
      });
      expect(r.done).toBe(true);
      expect(r.statsA.datagramSize).toBeLessThanOrEqual(mtu);
      expect(r.statsA.datagramSize).toBeGreaterThan(mtu - 64);
      expect(r.statsA.pmtuProbesLost).toBeGreaterThan(0);
      expect(r.statsA.congestionEvents).toBe(0);
      expect(r.statsA.packetsLost).toBe(0);
    }
  });

  it("falls back to the base size when the path MTU shrinks mid-transfer, then searches again", () => {
    let shrunk = false;
    const r = simulate({
      seed: 4,
      bytesAtoB: 20_000_000,
      linkAtoB: { delayMs: 2, bandwidthMbps: 200, queueBytes: 400_000 },
      linkBtoA: { delayMs: 2 },
      channel: { overhead: 30, maxDatagramSize: 65_000 },
      observe: (sim) => {
        if (!shrunk && sim.a.channel.stats().datagramSize === 65_000 && sim.now > 100) {
          sim.linkAtoB.config.mtu = 1400; // a route change: big datagrams now vanish
          shrunk = true;
        }
      },
    });
    expect(shrunk).toBe(true);
    expect(r.done).toBe(true);
    expect(r.statsA.pmtuBlackHoles).toBeGreaterThan(0);
    expect(r.statsA.datagramSize).toBeLessThanOrEqual(1400);
    expect(r.statsA.datagramSize).toBeGreaterThan(1336);
  });

  it("never exceeds the base size when nothing bigger gets through", () => {
    const r = simulate({
      seed: 3,
      bytesAtoB: 500_000,
      linkAtoB: { delayMs: 2, mtu: 1200 },
      channel: { overhead: 30, maxDatagramSize: 1452 },
    });
    expect(r.done).toBe(true);
    expect(r.statsA.datagramSize).toBe(1200);
  });
});

describe("close and bad input", () => {
  it("close() first delivers what was written (through loss), then both ends close", () => {
    const [a, b] = pair();
    const payload = data(60_000);
    a.write(payload, 0);
    a.close("shutting down");
    expect(a.state).toBe("closing");
    expect(a.write(data(10), 0)).toBe(false);
    const got: Buffer[] = [];
    let now = 0;
    let sent = 0;
    while (b.state === "open" && now < 10_000) {
      for (const p of drain(a, now)) if (++sent % 4 !== 0) b.receive(p, now + 5); // 25% loss
      got.push(readAll(b));
      if (b.state !== "open") break; // its answering CLOSE is checked below
      for (const p of drain(b, now + 5)) a.receive(p, now + 10);
      now = Math.min(now + 10, a.nextTimeout() ?? Number.POSITIVE_INFINITY);
    }
    got.push(readAll(b));
    expect(Buffer.concat(got).equals(payload)).toBe(true);
    expect(b.state).toBe("closed");
    expect(b.closeReason).toBe("shutting down");
    expect(b.closedByPeer).toBe(true);
    expect(a.stats().packetsLost).toBeGreaterThan(0);
    // B answers with one CLOSE, which ends A's closing period at once.
    const echo = drain(b, now + 5);
    expect(echo.length).toBe(1);
    expect(drain(b, now + 6)).toEqual([]);
    a.receive(echo[0], now + 10);
    expect(a.state).toBe("closed");
    expect(a.closedByPeer).toBe(false);
    expect(b.nextTimeout()).toBeUndefined();
  });

  it("close({ discard: true }) drops unsent data and sends CLOSE at once", () => {
    const [a, b] = pair();
    a.write(data(50_000), 0);
    drain(a, 0); // in flight, never delivered
    a.close("abort", { discard: true });
    expect(a.stats().sendBuffered).toBe(0);
    const out = drain(a, 1);
    expect(out.length).toBe(1);
    expect(decodePacket(out[0])?.close).toBe("abort");
    b.receive(out[0], 2);
    expect(b.state).toBe("closed");
    expect(readAll(b).length).toBe(0);
  });

  it("a closing channel whose CLOSE is lost gives up after three PTOs", () => {
    const [a] = pair();
    a.close("gone");
    expect(drain(a, 0).length).toBe(1);
    const t = a.nextTimeout() ?? Number.NaN;
    expect(t).toBeGreaterThan(0);
    drain(a, t);
    expect(a.state).toBe("closed");
  });

  it("rejects options no channel can work with, with a stable code", () => {
    const bad: Partial<ReliableChannelOptions>[] = [
      { overhead: -1 },
      { overhead: 1180 },
      { maxDatagramSize: 70_000 },
      { sendBufferBytes: 0 },
      { recvWindowBytes: -5 },
    ];
    for (const opts of bad) {
      expect(() => new ReliableChannel({ now: 0, ...opts })).toThrow(ReliableOptionsError);
      try {
        new ReliableChannel({ now: 0, ...opts });
      } catch (e) {
        expect((e as ReliableOptionsError).code).toBe("RELIABLE_OPTIONS_INVALID");
      }
    }
    expect(() => new ReliableChannel({ now: 0, overhead: 30, maxDatagramSize: 65_507 })).not.toThrow();
  });

  it("drops and counts malformed datagrams", () => {
    const [a] = pair();
    a.receive(Buffer.from([0x01, 0x7f, 0x00]), 1);
    a.receive(Buffer.alloc(0), 1);
    expect(a.stats().packetsMalformed).toBe(2);
    expect(a.state).toBe("open");
  });
});

describe("packet buffers", () => {
  it("leaves `headroom` free bytes in front of each packet and builds them in one reused buffer", () => {
    const opts = { overhead: 20, headroom: 5, reusePacketBuffer: true, maxDatagramSize: 65_000 };
    const [a, b] = pair(opts);
    const payload = data(300_000);
    a.write(payload, 0);
    const seen = new Set<ArrayBufferLike>();
    // Each packet is consumed (copied) before the next poll, as the contract requires.
    const pass = (from: ReliableChannel, to: ReliableChannel, now: number) => {
      for (let p = from.poll(now); p !== null; p = from.poll(now)) {
        if (from === a) seen.add(p.buffer);
        expect(p.length).toBeLessThanOrEqual(65_000 - 20 + 5);
        p.fill(0xee, 0, 5); // the caller's header: must not disturb the packet
        to.receive(Buffer.from(p.subarray(5)), now);
      }
    };
    const got: Buffer[] = [];
    for (let now = 5; now < 5000 && b.stats().bytesDelivered < payload.length; now += 5) {
      pass(a, b, now);
      pass(b, a, now + 1);
      got.push(readAll(b));
    }
    expect(Buffer.concat(got).equals(payload)).toBe(true);
    expect(seen.size).toBeLessThanOrEqual(3); // the scratch buffer, grown a few times at most
  });

  it("delivers the same bytes with headroom as without", () => {
    const [a, b] = pair({ overhead: 10, headroom: 10 });
    const payload = data(50_000);
    a.write(payload, 0);
    const got: Buffer[] = [];
    for (let now = 1; now < 2000 && Buffer.concat(got).length < payload.length; now += 10) {
      for (const p of drain(a, now)) b.receive(p.subarray(10), now);
      for (const p of drain(b, now)) a.receive(p.subarray(10), now + 1);
      got.push(readAll(b));
    }
    expect(Buffer.concat(got).equals(payload)).toBe(true);
  });

  it("refuses headroom larger than the overhead", () => {
    expect(() => new ReliableChannel({ now: 0, overhead: 4, headroom: 5 })).toThrow(ReliableOptionsError);
  });
});
