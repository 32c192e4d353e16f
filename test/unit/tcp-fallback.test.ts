/**
 * TcpFallback's decisions with real loopback sockets (the far side is a plain listener standing
 * in for the peer's simultaneous open): adopt at once when UDP cannot work, hold the connection
 * until the UDP punch fails otherwise, drop it when UDP wins, route the peer's session packets
 * over it, and report a closed adopted connection.
 */
import { once } from "node:events";
import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { SessionPump } from "../../src/daemon/session-pump.js";
import { TcpFallback } from "../../src/daemon/tcp-fallback.js";
import { TcpPortHolder } from "../../src/daemon/tcp-introducer.js";
import { FrameDecoder, frame } from "../../src/introducer/tcp-frames.js";
import type { Endpoint } from "../../src/util/addr.js";
import { systemClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/logger.js";
import type { Candidate } from "../../src/wire/candidate.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function listener(): Promise<{ server: Server; port: number; accepted: Socket[] }> {
  const accepted: Socket[] = [];
  const server = createServer((s) => accepted.push(s));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(() => {
    for (const s of accepted) s.destroy();
    server.close();
  });
  return { server, port: (server.address() as { port: number }).port, accepted };
}

/** The registration connection that fixes our TCP port (as TcpIntroducerConn does). */
async function heldPort(): Promise<TcpPortHolder> {
  const intro = await listener();
  const sock = netConnect({ host: "127.0.0.1", port: intro.port, localAddress: "127.0.0.1", localPort: 0 });
  await once(sock, "connect");
  cleanups.push(() => sock.destroy());
  const holder = new TcpPortHolder("127.0.0.1");
  holder.port = sock.localPort ?? 0;
  return holder;
}

function fakePump() {
  const routes = new Map<string, (packet: Buffer, to: Endpoint) => boolean>();
  const handled: { packet: Buffer; from: Endpoint }[] = [];
  const pump = {
    handle: (packet: Buffer, from: Endpoint) => handled.push({ packet, from }),
    route: (peer: string, fn: ((packet: Buffer, to: Endpoint) => boolean) | undefined) => {
      if (fn) routes.set(peer, fn);
      else routes.delete(peer);
    },
    send: () => {},
  } as unknown as SessionPump;
  return { pump, routes, handled };
}

async function setup() {
  const port = await heldPort();
  const peerSide = await listener();
  const { pump, routes, handled } = fakePump();
  const events: string[] = [];
  let adopted: Endpoint | undefined;
  const fb = new TcpFallback({
    port,
    pump,
    clock: systemClock,
    logger: silentLogger,
    events: {
      adopt: (id, e) => {
        events.push(`adopt ${id}`);
        adopted = e;
      },
      failed: (id, reason) => events.push(`failed ${id}: ${reason}`),
      closed: (id, _e, reason) => events.push(`closed ${id}: ${reason}`),
    },
  });
  cleanups.push(() => fb.close());
  const remote: Endpoint = { host: "127.0.0.1", port: peerSide.port };
  const candidates = (withSrflx: boolean): Candidate[] => [
    ...(withSrflx ? [{ kind: "srflx" as const, endpoint: { host: "127.0.0.1", port: 9 } }] : []),
    { kind: "tcp", endpoint: remote },
  ];
  /** Waits for the `n`th established punch (counted once the punch's promise settled). */
  const connected = async (n = 1) => {
    while (peerSide.accepted.length === 0 || fb.counters.connected < n)
      await new Promise((r) => setTimeout(r, 5));
    return peerSide.accepted[peerSide.accepted.length - 1];
  };
  return {
    fb,
    port,
    peerSide,
    routes,
    handled,
    events,
    adopted: () => adopted,
    remote,
    candidates,
    connected,
  };
}

describe("TcpFallback", () => {
  it("adopts at once when we are not registered over UDP, and routes the peer's packets over it", async () => {
    const t = await setup();
    t.fb.introduced("P", "bob", t.candidates(true), systemClock.now(), false);
    const far = await t.connected();
    expect(far.remotePort).toBe(t.port.port); // from the registration port
    expect(t.events).toEqual(["adopt P"]);
    expect(t.adopted()).toEqual(t.remote);
    const carrier = t.fb.carrier("P", t.remote);
    expect(carrier?.why).toBe("UDP is blocked here (the introducer answers only over TCP)");
    // Session packets to the connection's address go over it, framed; others do not.
    const route = t.routes.get("P");
    expect(route?.(Buffer.from([0x20, 1, 2]), t.remote)).toBe(true);
    expect(route?.(Buffer.from([0x20]), { host: "127.0.0.1", port: 9 })).toBe(false);
    const got = new FrameDecoder(0xffff);
    const [chunk] = await once(far, "data");
    expect(got.push(chunk as Buffer)).toEqual([Buffer.from([0x20, 1, 2])]);
    // What the peer sends comes back as if from its address.
    far.write(frame(Buffer.from([0x21, 9])));
    while (t.handled.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(t.handled[0]).toEqual({ packet: Buffer.from([0x21, 9]), from: t.remote });
    // The peer goes away: the adopted connection reports closed and the route is gone.
    far.destroy();
    while (t.events.length < 2) await new Promise((r) => setTimeout(r, 5));
    expect(t.events[1]).toMatch(/^closed P: /);
    expect(t.routes.has("P")).toBe(false);
  });

  it("adopts at once when the peer has no srflx candidate (its UDP is blocked)", async () => {
    const t = await setup();
    t.fb.introduced("P", "bob", t.candidates(false), systemClock.now(), true);
    await t.connected();
    expect(t.events).toEqual(["adopt P"]);
    expect(t.fb.carrier("P", t.remote)?.why).toBe("UDP is blocked at bob (it has no public UDP endpoint)");
  });

  it("a second introduction keeps the punch in flight or the connection it made (crossing requests)", async () => {
    const t = await setup();
    t.fb.introduced("P", "bob", t.candidates(true), systemClock.now(), true);
    t.fb.introduced("P", "bob", t.candidates(true), systemClock.now(), true); // while punching
    await t.connected();
    // A third, now that UDP cannot work: the held connection is adopted, no new punch.
    t.fb.introduced("P", "bob", t.candidates(true), systemClock.now(), false);
    expect(t.events).toEqual(["adopt P"]);
    await new Promise((r) => setTimeout(r, 50));
    expect(t.fb.counters.punches).toBe(1);
    expect(t.peerSide.accepted.length).toBe(1);
    expect(t.peerSide.accepted[0].destroyed).toBe(false);
  });

  it("holds the connection while UDP may work; adopts when the UDP punch fails, and at once next time", async () => {
    const t = await setup();
    t.fb.introduced("P", "bob", t.candidates(true), systemClock.now(), true);
    await t.connected();
    expect(t.events).toEqual([]);
    expect(t.fb.udpFailed("P")).toBe(true);
    expect(t.events).toEqual(["adopt P"]);
    expect(t.fb.carrier("P", t.remote)?.why).toBe("the UDP punch failed");
    // The next introduction (after this connection is gone) does not wait for UDP again.
    t.fb.drop("P");
    t.events.length = 0;
    t.fb.introduced("P", "bob", t.candidates(true), systemClock.now(), true);
    await t.connected(2);
    expect(t.events).toEqual(["adopt P"]);
    expect(t.fb.carrier("P", t.remote)?.why).toBe("the UDP punch failed last time");
  });

  it("drops a held connection when UDP wins; a session packet over a held one adopts it", async () => {
    const t = await setup();
    t.fb.introduced("P", "bob", t.candidates(true), systemClock.now(), true);
    const far = await t.connected();
    t.fb.udpSucceeded("P");
    await once(far, "close");
    expect(t.events).toEqual([]);
    expect(t.fb.udpFailed("P")).toBe(false); // nothing left to wait for

    const u = await setup();
    u.fb.introduced("P", "bob", u.candidates(true), systemClock.now(), true);
    await u.connected();
    // The peer adopted it and its handshake reached our session, which asks for the carrier.
    expect(u.fb.carrier("P", u.remote)).toBeDefined();
    u.fb.udpSucceeded("P"); // an adopted connection is kept
    expect(u.fb.carrier("P", u.remote)).toBeDefined();
  });

  it("does not punch without a tcp candidate or before our TCP registration gave us a port", async () => {
    const t = await setup();
    t.fb.introduced("P", "bob", [{ kind: "srflx", endpoint: t.remote }], systemClock.now(), false);
    const noPort = new TcpFallback({
      port: new TcpPortHolder(),
      pump: fakePump().pump,
      clock: systemClock,
      logger: silentLogger,
      events: { adopt: () => {}, failed: () => {}, closed: () => {} },
    });
    expect(noPort.ready).toBe(false);
    noPort.introduced("P", "bob", t.candidates(false), systemClock.now(), false);
    await new Promise((r) => setTimeout(r, 50));
    expect(t.peerSide.accepted).toHaveLength(0);
    expect(t.fb.counters.punches + noPort.counters.punches).toBe(0);
  });
});
