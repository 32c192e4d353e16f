/**
 * IntroducerLink with the TCP registration, against a real introducer on loopback: both
 * registrations come up (the TCP one from the held port, observed as our `tcp` endpoint), an
 * introduction asked for before the TCP registration is done waits for it so the target learns
 * our `tcp` candidate, and with UDP unanswered the link still registers and introduces over TCP.
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer, connect as netConnect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type IntroducerEvent, IntroducerLink } from "../../src/daemon/introducer-link.js";
import { TcpPortHolder } from "../../src/daemon/tcp-introducer.js";
import { type RunningIntroducer, startIntroducer } from "../../src/introducer/server.js";
import { systemClock } from "../../src/util/clock.js";
import { silentLogger } from "../../src/util/logger.js";
import { introducerKeys, keys } from "./introducer-fixtures.js";

let running: RunningIntroducer | undefined;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await running?.close();
  running = undefined;
});

interface Side {
  link: IntroducerLink;
  port: TcpPortHolder;
  events: IntroducerEvent[];
  waitFor(pred: (e: IntroducerEvent) => boolean): Promise<IntroducerEvent>;
}

async function side(
  name: "joe" | "bob",
  peer: "joe" | "bob",
  introPort: number,
  opts: {
    /** Where this side reaches the introducer (default 127.0.0.1). */
    host?: string;
    udpBlocked?: boolean;
    onEvent?: (link: IntroducerLink, e: IntroducerEvent) => void;
  } = {},
): Promise<Side> {
  const sock: UdpSocket = createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  const port = new TcpPortHolder("127.0.0.1");
  const events: Side["events"] = [];
  const waiters: { pred: (e: IntroducerEvent) => boolean; resolve: (e: IntroducerEvent) => void }[] = [];
  const link: IntroducerLink = new IntroducerLink({
    address: { host: opts.host ?? "127.0.0.1", port: introPort },
    publicKey: introducerKeys.publicKey,
    name,
    privateKey: keys[name].privateKey,
    lanCandidates: [],
    accepts: (pk) => (pk.equals(keys[peer].publicKey) ? peer : null),
    clock: systemClock,
    logger: silentLogger,
    sendUdp: (packet, to) => {
      if (!opts.udpBlocked) sock.send(packet, to.port, to.host);
    },
    onEvent: (l, e) => {
      events.push(e);
      opts.onEvent?.(l, e);
      for (const w of waiters.splice(0)) {
        if (w.pred(e)) w.resolve(e);
        else waiters.push(w);
      }
    },
    tcpPort: port,
  });
  sock.on("message", (m) => link.handle(m));
  cleanups.push(() => {
    link.close();
    sock.close();
  });
  await link.start();
  return {
    link,
    port,
    events,
    waitFor: (pred) => {
      const hit = events.find(pred);
      return hit ? Promise.resolve(hit) : new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

async function introducer(): Promise<number> {
  running = await startIntroducer({
    listen: { host: "127.0.0.1", port: 0 },
    privateKey: introducerKeys.privateKey,
    peers: [
      { name: "joe", publicKey: keys.joe.publicKey },
      { name: "bob", publicKey: keys.bob.publicKey },
    ],
  });
  return running.udpPort;
}

/**
 * The introducer as seen at 127.0.0.2:port: UDP relayed as is, TCP connections held for
 * `tcpDelayMs` before they are piped through — a TCP registration slower than the UDP one.
 */
async function slowTcpPath(port: number, tcpDelayMs: number): Promise<void> {
  const relay = createSocket("udp4");
  await new Promise<void>((r) => relay.bind(port, "127.0.0.2", r));
  const upstream = new Map<string, UdpSocket>();
  relay.on("message", (m, rinfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    let up = upstream.get(key);
    if (!up) {
      const u = createSocket("udp4");
      u.on("message", (back) => relay.send(back, rinfo.port, rinfo.address));
      u.bind(0, "127.0.0.1");
      upstream.set(key, u);
      up = u;
    }
    up.send(m, port, "127.0.0.1");
  });
  const server = createServer((inbound: Socket) => {
    inbound.pause();
    setTimeout(() => {
      const out = netConnect({ host: "127.0.0.1", port });
      inbound.pipe(out).pipe(inbound);
      inbound.resume();
      const end = () => {
        inbound.destroy();
        out.destroy();
      };
      inbound.on("error", end).on("close", end);
      out.on("error", end).on("close", end);
    }, tcpDelayMs);
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.2", r));
  cleanups.push(() => {
    relay.close();
    for (const u of upstream.values()) u.close();
    server.close();
  });
}

const bothRegistered = (s: Side) =>
  new Promise<void>((resolve) => {
    const check = () => {
      const st = s.link.status(systemClock.now());
      if (st.publicEndpoint && st.tcpPublicEndpoint) resolve();
      else setTimeout(check, 5);
    };
    check();
  });

describe("IntroducerLink with a TCP registration", () => {
  it("registers over UDP and over TCP from the held port", async () => {
    const port = await introducer();
    const bob = await side("bob", "joe", port);
    await bothRegistered(bob);
    const st = bob.link.status(systemClock.now());
    expect(bob.port.port).toBeGreaterThan(0);
    expect(st.tcpPublicEndpoint).toBe(`127.0.0.1:${bob.port.port}`);
    expect(st.publicEndpoint).not.toBe(st.tcpPublicEndpoint);
  });

  it("an introduction asked for on the UDP registration waits for the TCP one: the target gets our tcp candidate", async () => {
    const port = await introducer();
    const bob = await side("bob", "joe", port);
    await bothRegistered(bob);
    await slowTcpPath(port, 300);
    let asked = false;
    const joe = await side("joe", "bob", port, {
      host: "127.0.0.2",
      // As the daemon does: ask at the first registration event (the UDP one, on loopback).
      onEvent: (l, e) => {
        if (e.type === "registered" && !asked) {
          asked = true;
          l.introduce("bob");
        }
      },
    });
    const intro = await bob.waitFor((e) => e.type === "introduction");
    expect(asked).toBe(true);
    // Without the wait the introduction would leave before joe's TCP registration (300 ms later).
    expect(intro.type === "introduction" && intro.candidates.some((c) => c.kind === "tcp")).toBe(true);
    expect(intro.type === "introduction" && intro.candidates.some((c) => c.kind === "srflx")).toBe(true);
    await joe.waitFor((e) => e.type === "introduction");
  });

  it("with UDP unanswered, registers and asks for introductions over TCP alone", async () => {
    const port = await introducer();
    const bob = await side("bob", "joe", port);
    await bothRegistered(bob);
    const joe = await side("joe", "bob", port, { udpBlocked: true });
    await joe.waitFor((e) => e.type === "registered");
    expect(joe.link.registered).toBe(true);
    expect(joe.link.status(systemClock.now()).publicEndpoint).toBeNull();
    joe.link.introduce("bob");
    const intro = await bob.waitFor((e) => e.type === "introduction");
    // bob learns joe's TCP endpoint and no UDP one: the sign that joe's UDP is blocked.
    const kinds = intro.type === "introduction" ? intro.candidates.map((c) => c.kind) : [];
    expect(kinds).toContain("tcp");
    expect(kinds).not.toContain("srflx");
    const answer = await joe.waitFor((e) => e.type === "introduction");
    expect(answer.type === "introduction" && answer.candidates.some((c) => c.kind === "tcp")).toBe(true);
  });
});
