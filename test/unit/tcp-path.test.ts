/**
 * A Peer on the TCP path, with the daemon's I/O faked: when a failed UDP punch waits for TCP and
 * when the attempt fails (with both causes in the reason), how an adopted connection becomes the
 * `tcp` path with its own mux (kept across a rekey, gone when the connection closes), and two
 * peers wired payload-to-payload carrying a stream over their TCP links.
 */
import { describe, expect, it } from "vitest";
import { generateKeyPair } from "../../src/crypto/keys.js";
import { Peer, type PeerIo } from "../../src/daemon/peer.js";
import type { PeerTcpIo, TcpCarrier } from "../../src/daemon/tcp-fallback.js";
import { PUNCH_BUDGET_MS } from "../../src/punch/constants.js";
import type { IncomingStream } from "../../src/tunnel/mux/index.js";
import type { Endpoint } from "../../src/util/addr.js";
import { ManualClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/logger.js";
import type { Candidate } from "../../src/wire/candidate.js";
import { readAll } from "./mux-compliance.js";

const BOB_TCP: Endpoint = { host: "203.0.113.66", port: 40379 };

interface FakeTcp extends PeerTcpIo {
  udpFailedCalls: number;
  dropped: string[];
  /** What `udpFailed` answers (a TCP attempt is running). */
  pending: boolean;
  /** The adopted connection's carrier, served for BOB_TCP. */
  conn: TcpCarrier | undefined;
}

function fakeTcp(): FakeTcp {
  const t: FakeTcp = {
    udpFailedCalls: 0,
    dropped: [],
    pending: true,
    conn: undefined,
    carrier: (e) => (e.host === BOB_TCP.host && e.port === BOB_TCP.port ? t.conn : undefined),
    udpFailed: () => {
      t.udpFailedCalls++;
      return t.pending;
    },
    udpSucceeded: () => {},
    drop: (reason) => {
      t.dropped.push(reason);
    },
  };
  return t;
}

function carrier(id: object, send: (p: Buffer) => void, why = "UDP is blocked here"): TcpCarrier {
  return { id: id as TcpCarrier["id"], why, sendPayload: send, congested: false, onDrain: () => {} };
}

function makePeer(
  clock: ManualClock,
  tcp: FakeTcp,
  keys = { ours: generateKeyPair(), theirs: generateKeyPair() },
  onStream: (req: IncomingStream) => void = (req) => req.reject(1, "no"),
) {
  const io = { connects: [] as Endpoint[], introductions: 0, payloads: [] as Buffer[] };
  const pio: PeerIo = {
    sendUdp: () => {},
    sendPayload: (p) => io.payloads.push(p),
    connectSession: (e) => io.connects.push(e),
    requestIntroduction: () => {
      io.introductions++;
      return true;
    },
    ourSrflx: () => undefined,
    rearm: () => {},
    tcp,
  };
  const peer = new Peer({
    name: "bob",
    publicKey: keys.theirs.publicKey,
    ourPrivate: keys.ours.privateKey,
    ourPublic: keys.ours.publicKey,
    wanted: true,
    primerTtl: 2,
    clock,
    logger: silentLogger,
    io: pio,
    onStream: (_p, req) => onStream(req),
  });
  return { peer, io };
}

const candidates: Candidate[] = [
  { kind: "srflx", endpoint: { host: "203.0.113.66", port: 5000 } },
  { kind: "tcp", endpoint: BOB_TCP },
];

/** Introduces the peer and lets the UDP punch run out of budget (nobody answers). */
function failUdp(peer: Peer, clock: ManualClock): void {
  peer.maybeConnect(clock.now());
  peer.onIntroduction(candidates, clock.now() + 100, clock.now());
  for (let t = 0; t <= PUNCH_BUDGET_MS + 1000; t += 50) {
    clock.advance(50);
    peer.tick(clock.now());
  }
}

describe("Peer on the TCP path", () => {
  it("waits for the TCP punch when UDP fails, then fails with both causes when TCP fails too", () => {
    const clock = new ManualClock(1_000_000);
    const tcp = fakeTcp();
    const { peer } = makePeer(clock, tcp);
    failUdp(peer, clock);
    expect(tcp.udpFailedCalls).toBe(1);
    expect(peer.state).toBe("connecting");
    expect(peer.reason).toMatch(/^UDP did not get through .*; trying TCP$/);
    peer.onTcpFailed("TCP punch failed: no TCP connection within 10000 ms", clock.now());
    expect(peer.state).toBe("failed");
    expect(peer.reason).toMatch(
      /\[tried .*\]; TCP punch failed: no TCP connection within 10000 ms; retrying in/,
    );
  });

  it("fails at once when there is no TCP attempt to wait for", () => {
    const clock = new ManualClock(1_000_000);
    const tcp = fakeTcp();
    tcp.pending = false;
    const { peer } = makePeer(clock, tcp);
    failUdp(peer, clock);
    expect(peer.state).toBe("failed");
    expect(peer.reason).not.toMatch(/TCP punch|trying TCP/);
  });

  it("a TCP failure while UDP still runs is kept for the UDP failure's reason", () => {
    const clock = new ManualClock(1_000_000);
    const tcp = fakeTcp();
    const { peer } = makePeer(clock, tcp);
    peer.maybeConnect(clock.now());
    peer.onIntroduction(candidates, clock.now() + 100, clock.now());
    peer.onTcpFailed("TCP punch failed: 3× ECONNREFUSED", clock.now());
    expect(peer.state).toBe("connecting");
    tcp.pending = false; // TcpFallback answers false once its punch has failed
    for (let t = 0; t <= PUNCH_BUDGET_MS + 1000; t += 50) {
      clock.advance(50);
      peer.tick(clock.now());
    }
    expect(peer.state).toBe("failed");
    expect(peer.reason).toMatch(/; TCP punch failed: 3× ECONNREFUSED; retrying in/);
  });

  it("adopts the connection: handshake over it, path tcp with a reason, one mux per connection", async () => {
    const clock = new ManualClock(1_000_000);
    const tcp = fakeTcp();
    const { peer, io } = makePeer(clock, tcp);
    const sent: Buffer[] = [];
    const conn = {};
    tcp.conn = carrier(conn, (p) => sent.push(p));
    peer.maybeConnect(clock.now());
    peer.onIntroduction(candidates, clock.now() + 100, clock.now());
    peer.onTcpPath(BOB_TCP);
    expect(io.connects).toEqual([BOB_TCP]);
    expect(peer.state).toBe("connecting");
    peer.onEstablished(BOB_TCP, clock.now());
    expect(peer.state).toBe("connected");
    const s = peer.status(clock.now());
    expect(s.path).toBe("tcp");
    expect(s.endpoint).toBe("203.0.113.66:40379");
    expect(s.reason).toBe("over TCP: UDP is blocked here");
    // The mux's first PING goes out (on the next turn) as an INNER.MUX payload, counted.
    await new Promise((r) => setImmediate(r));
    expect(sent.length).toBeGreaterThan(0);
    expect(sent[0][0]).toBe(0x02);
    expect(peer.status(clock.now()).bytesOut).toBe(sent.reduce((n, p) => n + p.length, 0));
    // No UDP link and no link-control message on this path.
    expect(peer.link).toBeNull();
    expect(io.payloads).toEqual([]);
    // A rekey (established again over the same connection) keeps the mux.
    const mux = peer.mux;
    peer.onEstablished(BOB_TCP, clock.now());
    expect(peer.mux).toBe(mux);
    // The UDP punch's late failure does not disturb the connected peer.
    for (let t = 0; t <= PUNCH_BUDGET_MS + 1000; t += 50) {
      clock.advance(50);
      peer.tick(clock.now());
    }
    expect(peer.state).toBe("connected");
    // The connection closes: the link is gone and the peer looks for a path again.
    const before = io.introductions;
    peer.onTcpClosed("ECONNRESET", clock.now());
    expect(peer.state).toBe("connecting");
    expect(peer.mux).toBeUndefined();
    expect(peer.status(clock.now()).path).toBeNull();
    expect(io.introductions).toBe(before + 1);
  });

  it("carries a stream between two peers whose TCP links are wired payload to payload", async () => {
    const clock = new ManualClock(1_000_000);
    const joeKeys = generateKeyPair();
    const bobKeys = generateKeyPair();
    const joeTcp = fakeTcp();
    const bobTcp = fakeTcp();
    const joe = makePeer(clock, joeTcp, { ours: joeKeys, theirs: bobKeys });
    const bob = makePeer(clock, bobTcp, { ours: bobKeys, theirs: joeKeys }, (req) => {
      const s = req.accept();
      s.on("error", () => {}); // reset by the close at the end if still open
      s.end(`hello ${req.target}`);
    });
    const deliver = (to: Peer) => (p: Buffer) =>
      setImmediate(() => to.onPayload(Buffer.from(p), clock.now()));
    joeTcp.conn = carrier({}, deliver(bob.peer));
    bobTcp.conn = carrier({}, deliver(joe.peer));
    joe.peer.onEstablished(BOB_TCP, clock.now());
    bob.peer.onEstablished(BOB_TCP, clock.now());
    const stream = await joe.peer.openStream("127.0.0.1:22");
    stream.on("error", () => {}); // reset by the close below if still open
    stream.end();
    expect((await readAll(stream)).toString()).toBe("hello 127.0.0.1:22");
    joe.peer.close();
    bob.peer.close();
    expect(joeTcp.dropped).toContain("daemon stopping");
  });
});
