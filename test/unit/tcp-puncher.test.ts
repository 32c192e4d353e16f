/**
 * punchTcp's attempt logic with injected sockets: when the first SYN goes, what a reset does
 * (retry with jitter), what a silently dropped SYN does (kept), the budget, and abort. The real
 * simultaneous open is exercised in the NAT lab (test/natlab/tcp-fallback.test.ts); one loopback
 * case checks that the bind to a port in use by another connection works (SO_REUSEADDR).
 */
import { EventEmitter, once } from "node:events";
import { createServer, connect as netConnect, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { punchTcp, type TcpConnectOptions } from "../../src/punch/tcp-puncher.js";

class FakeSocket extends EventEmitter {
  destroyed = false;
  noDelay = false;
  destroy() {
    this.destroyed = true;
    return this;
  }
  setNoDelay() {
    this.noDelay = true;
    return this;
  }
}

function refused(code = "ECONNREFUSED"): Error {
  return Object.assign(new Error(code), { code });
}

/** Each call returns a new FakeSocket; `script[i]` decides what attempt i does. */
function fakeConnect(script: ((s: FakeSocket) => void)[]) {
  const calls: { at: number; opts: TcpConnectOptions; socket: FakeSocket }[] = [];
  const connect = (opts: TcpConnectOptions) => {
    const socket = new FakeSocket();
    const i = calls.length;
    calls.push({ at: performance.now(), opts, socket });
    setImmediate(() => script[Math.min(i, script.length - 1)](socket));
    return socket as unknown as Socket;
  };
  return { connect, calls };
}

const now = () => performance.now();

describe("punchTcp", () => {
  it("waits for the start instant, then connects from the registration port", async () => {
    const f = fakeConnect([(s) => s.emit("connect")]);
    const startAt = now() + 60;
    const r = await punchTcp({
      remote: { host: "203.0.113.66", port: 40379 },
      localPort: 41000,
      startAt,
      now,
      connect: f.connect,
    });
    expect(r.ok).toBe(true);
    expect(f.calls).toHaveLength(1);
    expect(f.calls[0].at).toBeGreaterThanOrEqual(startAt - 2);
    expect(f.calls[0].opts).toEqual({
      host: "203.0.113.66",
      port: 40379,
      localPort: 41000,
      localAddress: "0.0.0.0",
    });
    if (r.ok) expect((r.socket as unknown as FakeSocket).noDelay).toBe(true);
  });

  it("retries an attempt the far NAT reset, with a pause of 1-2x retryMs, until one connects", async () => {
    const f = fakeConnect([
      (s) => s.emit("error", refused()),
      (s) => s.emit("error", refused("ECONNRESET")),
      (s) => s.emit("connect"),
    ]);
    const r = await punchTcp({
      remote: { host: "203.0.113.66", port: 1 },
      localPort: 2,
      startAt: now(),
      now,
      retryMs: 20,
      random: () => 0.5,
      connect: f.connect,
    });
    expect(r.ok && r.attempts).toBe(3);
    expect(f.calls[0].socket.destroyed).toBe(true);
    expect(f.calls[1].socket.destroyed).toBe(true);
    // 20 × 1.5 = 30 ms between a failure and the next attempt (timers may fire a little late).
    expect(f.calls[1].at - f.calls[0].at).toBeGreaterThanOrEqual(29);
  });

  it("keeps an attempt whose SYN was dropped (no answer) instead of starting another", async () => {
    let hold: FakeSocket | undefined;
    const f = fakeConnect([
      (s) => {
        hold = s;
      },
    ]);
    const p = punchTcp({
      remote: { host: "203.0.113.66", port: 1 },
      localPort: 2,
      startAt: now(),
      now,
      retryMs: 5,
      connect: f.connect,
    });
    await new Promise((r) => setTimeout(r, 60));
    expect(f.calls).toHaveLength(1);
    hold?.emit("connect"); // the peer's SYN arrived: simultaneous open completed it
    const r = await p;
    expect(r.ok && r.attempts).toBe(1);
  });

  it("reports the errors it saw when the budget ends without a connection", async () => {
    const f = fakeConnect([(s) => s.emit("error", refused())]);
    const r = await punchTcp({
      remote: { host: "203.0.113.66", port: 1 },
      localPort: 2,
      startAt: now(),
      now,
      budgetMs: 150,
      retryMs: 10,
      connect: f.connect,
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.attempts).toBeGreaterThan(2);
    // Every attempt was refused, except perhaps the last: the budget may end while it is pending.
    expect(r.errors.ECONNREFUSED).toBeGreaterThanOrEqual(r.attempts - 1);
    expect(r.errors.ECONNREFUSED).toBeLessThanOrEqual(r.attempts);
    expect(r.reason).toBe(
      `no TCP connection within 150 ms (${r.attempts} attempts: ${r.errors.ECONNREFUSED}× ECONNREFUSED)`,
    );
  });

  it("stops at once when aborted and destroys the pending attempt", async () => {
    const f = fakeConnect([() => {}]);
    const ac = new AbortController();
    const p = punchTcp({
      remote: { host: "203.0.113.66", port: 1 },
      localPort: 2,
      startAt: now(),
      now,
      signal: ac.signal,
      connect: f.connect,
    });
    await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    const r = await p;
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe("aborted");
    expect(f.calls[0].socket.destroyed).toBe(true);
  });

  it("connects from a port another connection (the introducer registration) still uses", async () => {
    const a = createServer((s) => s.resume());
    const b = createServer((s) => s.resume());
    await Promise.all([
      once(a.listen(0, "127.0.0.1"), "listening"),
      once(b.listen(0, "127.0.0.1"), "listening"),
    ]);
    const portOf = (s: typeof a) => (s.address() as { port: number }).port;
    const registration = netConnect({
      host: "127.0.0.1",
      port: portOf(a),
      localAddress: "0.0.0.0",
      localPort: 0,
    });
    await once(registration, "connect");
    const r = await punchTcp({
      remote: { host: "127.0.0.1", port: portOf(b) },
      localPort: registration.localPort ?? 0,
      startAt: now(),
      now,
      budgetMs: 2000,
    });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.socket.localPort).toBe(registration.localPort);
      r.socket.destroy();
    }
    registration.destroy();
    a.close();
    b.close();
  });
});
