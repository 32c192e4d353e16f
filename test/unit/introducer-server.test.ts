import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { IntroducerClient, type IntroducerClientOutput } from "../../src/daemon/introducer-client.js";
import { type RunningIntroducer, startIntroducer } from "../../src/introducer/server.js";
import { FrameDecoder, frame } from "../../src/introducer/tcp-frames.js";
import { MAX_PACKET_LEN } from "../../src/wire/introducer.js";
import { introducerKeys, keys } from "./introducer-fixtures.js";

let running: RunningIntroducer | undefined;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await running?.close();
  running = undefined;
});

function client(name: "joe" | "bob", peer: "joe" | "bob", tcpLocalPort?: number) {
  return new IntroducerClient({
    name,
    privateKey: keys[name].privateKey,
    introducerPublicKey: introducerKeys.publicKey,
    lanCandidates: [],
    tcpLocalPort,
    accepts: (pk) => (pk.equals(keys[peer].publicKey) ? peer : null),
    wallClockMs: Date.now(),
  });
}

/** A packet queue over a socket: `next()` resolves with the next packet received. */
class Inbox {
  private readonly packets: Buffer[] = [];
  private waiter?: (b: Buffer) => void;
  push(b: Buffer): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(b);
    } else this.packets.push(b);
  }
  next(): Promise<Buffer> {
    const b = this.packets.shift();
    return b ? Promise.resolve(b) : new Promise((resolve) => (this.waiter = resolve));
  }
}

async function udpPeer(port: number) {
  const sock: UdpSocket = createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
  cleanups.push(() => sock.close());
  const inbox = new Inbox();
  sock.on("message", (m) => inbox.push(m));
  const send = (outs: IntroducerClientOutput[]) => {
    for (const o of outs) if (o.type === "send") sock.send(o.packet, port, "127.0.0.1");
    return outs.filter((o) => o.type !== "send");
  };
  return { sock, inbox, send, localPort: sock.address().port };
}

async function tcpPeer(port: number) {
  const sock: Socket = connect(port, "127.0.0.1");
  await new Promise<void>((r) => sock.once("connect", r));
  cleanups.push(() => sock.destroy());
  const inbox = new Inbox();
  const decoder = new FrameDecoder(MAX_PACKET_LEN);
  sock.on("data", (d) => {
    for (const f of decoder.push(d) ?? []) inbox.push(f);
  });
  const send = (outs: IntroducerClientOutput[]) => {
    for (const o of outs) if (o.type === "send") sock.write(frame(o.packet));
    return outs.filter((o) => o.type !== "send");
  };
  return { sock, inbox, send, localPort: sock.localPort! };
}

describe("startIntroducer on real sockets", () => {
  it("registers over UDP and TCP on one port and introduces across the two", async () => {
    running = await startIntroducer({
      listen: { host: "127.0.0.1", port: 0 },
      privateKey: introducerKeys.privateKey,
      peers: [
        { name: "joe", publicKey: keys.joe.publicKey },
        { name: "bob", publicKey: keys.bob.publicKey },
      ],
    });
    expect(running.udpPort).toBe(running.tcpPort);
    expect(running.publicKey.equals(introducerKeys.publicKey)).toBe(true);

    const joeNet = await udpPeer(running.udpPort);
    const bobNet = await tcpPeer(running.tcpPort);
    const joe = client("joe", "bob");
    const bob = client("bob", "joe", bobNet.localPort);

    joeNet.send(joe.start(Date.now()));
    expect(joeNet.send(joe.handle(await joeNet.inbox.next(), Date.now()))).toEqual([
      expect.objectContaining({
        type: "registered",
        observed: { host: "127.0.0.1", port: joeNet.localPort },
      }),
    ]);
    bobNet.send(bob.start(Date.now()));
    expect(bobNet.send(bob.handle(await bobNet.inbox.next(), Date.now()))).toEqual([
      expect.objectContaining({
        type: "registered",
        observed: { host: "127.0.0.1", port: bobNet.localPort },
      }),
    ]);

    // joe (UDP) asks for bob (TCP only): bob hears about it on his TCP connection first.
    joeNet.send(joe.introduce("bob", Date.now()));
    const bobEvents = bobNet.send(bob.handle(await bobNet.inbox.next(), Date.now()));
    expect(bobEvents).toEqual([
      expect.objectContaining({
        type: "introduction",
        peerName: "joe",
        candidates: [{ kind: "srflx", endpoint: { host: "127.0.0.1", port: joeNet.localPort } }],
      }),
    ]);
    const joeEvents = joeNet.send(joe.handle(await joeNet.inbox.next(), Date.now()));
    expect(joeEvents).toEqual([
      expect.objectContaining({
        type: "introduction",
        peerName: "bob",
        candidates: [{ kind: "tcp", endpoint: { host: "127.0.0.1", port: bobNet.localPort } }],
      }),
    ]);
    expect(running.stats().registered.map((p) => [p.name, p.udp?.observed, p.tcp?.observed])).toEqual([
      ["joe", `127.0.0.1:${joeNet.localPort}`, undefined],
      ["bob", undefined, `127.0.0.1:${bobNet.localPort}`],
    ]);
  });

  it("answers nothing to garbage, closes a connection with bad framing, and keeps serving", async () => {
    running = await startIntroducer({
      listen: { host: "127.0.0.1", port: 0 },
      privateKey: introducerKeys.privateKey,
      peers: [{ name: "joe", publicKey: keys.joe.publicKey }],
    });
    const udp = await udpPeer(running.udpPort);
    udp.sock.send(Buffer.alloc(100, 0xee), running.udpPort, "127.0.0.1");

    const bad = await tcpPeer(running.tcpPort);
    const closed = new Promise<void>((r) => bad.sock.once("close", () => r()));
    bad.sock.write(Buffer.from([0xff, 0xff, 1, 2, 3]));
    await closed;

    // A valid REGISTER after the garbage is answered, and it is the only answer UDP got.
    const joe = client("joe", "bob");
    udp.send(joe.start(Date.now()));
    expect(udp.send(joe.handle(await udp.inbox.next(), Date.now()))).toMatchObject([{ type: "registered" }]);
    expect(joe.counters.received).toBe(1);
    expect(running.counters()).toMatchObject({
      malformed: 1,
      tcpBadFraming: 1,
      registrations: 1,
      handlerErrors: 0,
    });
  });

  it("fails with a stable code when the port is taken", async () => {
    running = await startIntroducer({
      listen: { host: "127.0.0.1", port: 0 },
      privateKey: introducerKeys.privateKey,
      peers: [],
    });
    await expect(
      startIntroducer({
        listen: { host: "127.0.0.1", port: running.udpPort },
        privateKey: introducerKeys.privateKey,
        peers: [],
      }),
    ).rejects.toMatchObject({ code: "LISTEN_FAILED" });
  });
});
