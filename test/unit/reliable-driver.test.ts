/** The timer/I-O adapter, with real timers: two drivers joined by an asynchronous in-memory wire. */
import { once } from "node:events";
import { describe, expect, it, vi } from "vitest";
import { ReliableChannel } from "../../src/tunnel/reliable/channel.js";
import { ReliableDriver } from "../../src/tunnel/reliable/driver.js";
import type { ReliableChannelOptions } from "../../src/tunnel/reliable/types.js";
import { Prng } from "../sim/prng.js";

function wiredPair(opts: Partial<ReliableChannelOptions> = {}, dropAtoB = false) {
  const now = performance.timeOrigin + performance.now();
  let a: ReliableDriver | undefined;
  let b: ReliableDriver | undefined;
  a = new ReliableDriver(new ReliableChannel({ now, ...opts }), {
    // Like a socket: delivered later, as a fresh Buffer.
    send: (d) => {
      if (!dropAtoB) setImmediate(() => b?.input(Buffer.from(d)));
    },
  });
  b = new ReliableDriver(new ReliableChannel({ now, ...opts }), {
    send: (d) => setImmediate(() => a?.input(Buffer.from(d))),
  });
  return { a, b };
}

describe("ReliableDriver", () => {
  it("moves a large stream in order with write/drain backpressure", async () => {
    const { a, b } = wiredPair({ overhead: 30, maxDatagramSize: 65_000, sendBufferBytes: 1 << 20 });
    const payload = new Prng(9).bytes(20_000_000);
    const received: Buffer[] = [];
    let got = 0;
    const done = new Promise<void>((resolve) => {
      b.on("data", (c) => {
        received.push(c);
        got += c.length;
        if (got >= payload.length) resolve();
      });
    });
    let drains = 0;
    let off = 0;
    const pump = () => {
      while (off < payload.length) {
        const n = Math.min(50_000, payload.length - off);
        const ok = a.write(payload.subarray(off, off + n));
        off += n;
        if (!ok) return;
      }
    };
    a.on("drain", () => {
      drains++;
      pump();
    });
    pump();
    await done;
    expect(Buffer.concat(received).equals(payload)).toBe(true);
    expect(drains).toBeGreaterThan(0);
    expect(a.channel.stats().datagramSize).toBe(65_000);
    a.destroy();
    b.destroy();
  });

  it("keeps a timer set for an earlier deadline instead of re-arming per packet, and still sends the delayed ACK", async () => {
    const { a, b } = wiredPair();
    const timers = vi.spyOn(globalThis, "setTimeout");
    try {
      // Ping-pong: every packet moves the probe timeout and the delayed-ACK deadline.
      for (let i = 0; i < 200; i++) {
        const got = once(b, "data");
        a.write(Buffer.of(i));
        await got;
        const back = once(a, "data");
        b.write(Buffer.of(i));
        await back;
      }
      // 400 packets; re-arming on every moved deadline took one timer per packet and side.
      expect(timers.mock.calls.length).toBeLessThan(100);
      // a owes b an ACK for the last reply, delayed (max_ack_delay): a timer must still send it.
      expect(b.channel.stats().bytesInFlight).toBeGreaterThan(0);
      const deadline = Date.now() + 2_000;
      while (b.channel.stats().bytesInFlight > 0 && Date.now() < deadline)
        await new Promise((r) => setImmediate(r));
      expect(b.channel.stats().bytesInFlight).toBe(0);
    } finally {
      timers.mockRestore();
      a.destroy();
      b.destroy();
    }
  });

  it("emits 'dead' when the peer never answers", async () => {
    const { a, b } = wiredPair({ deadPeerTimeoutMs: 300, idleTimeoutMs: 0 }, true);
    a.write(Buffer.from("hello?"));
    const [reason] = await once(a, "dead");
    expect(reason).toBe("peer_unresponsive");
    expect(a.channel.state).toBe("dead");
    b.destroy();
  });

  it("emits 'close' on both sides with the closer's reason", async () => {
    const { a, b } = wiredPair();
    a.write(Buffer.from("x"));
    await once(b, "data");
    const closedB = once(b, "close");
    const closedA = once(a, "close");
    a.close("bye");
    expect(await closedB).toEqual(["bye", true]);
    expect(await closedA).toEqual(["bye", false]);
  });

  it("pause() stops 'data' and closes the window; resume() delivers the rest", async () => {
    const { a, b } = wiredPair({ recvWindowBytes: 256 * 1024, sendBufferBytes: 256 * 1024 });
    const payload = new Prng(3).bytes(2_000_000);
    b.pause();
    let off = 0;
    const pump = () => {
      while (off < payload.length) {
        const ok = a.write(payload.subarray(off, off + 32_768));
        off += 32_768;
        if (!ok) return;
      }
    };
    a.on("drain", pump);
    pump();
    // Wait until the sender is stuck: nothing in flight, window used up, buffer full.
    while (
      a.channel.stats().sendBuffered === 0 ||
      a.channel.writable ||
      a.channel.stats().bytesInFlight > 0
    ) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(b.channel.stats().recvBuffered).toBeLessThanOrEqual(256 * 1024);
    const parts: Buffer[] = [];
    let got = 0;
    const done = new Promise<void>((resolve) =>
      b.on("data", (c) => {
        parts.push(c);
        got += c.length;
        if (got >= payload.length) resolve();
      }),
    );
    b.resume();
    await done;
    expect(Buffer.concat(parts).equals(payload)).toBe(true);
    a.destroy();
    b.destroy();
  });
});
