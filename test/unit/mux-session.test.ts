/**
 * MuxSession adapter behaviour that the compliance suite does not cover: a misbehaving raw peer,
 * keepalive over real timers, open timeouts.
 */
import { describe, expect, it } from "vitest";
import { type ByteChannel, memoryPipe } from "../../src/tunnel/channel.js";
import { FrameType, HEADER_SIZE } from "../../src/tunnel/mux/constants.js";
import { FrameDecoder } from "../../src/tunnel/mux/decoder.js";
import { encodeData, type Frame } from "../../src/tunnel/mux/frame.js";
import {
  GOAWAY,
  type MuxCloseInfo,
  MuxSession,
  type MuxStream,
  RESET,
  StreamRefusedError,
} from "../../src/tunnel/mux/index.js";

/** The raw end of a pipe, decoding what the session sends. */
function rawPeer(ch: ByteChannel) {
  const dec = new FrameDecoder(1 << 20);
  const frames: Frame[] = [];
  ch.on("data", (d) => {
    dec.push(d);
    for (let f = dec.next(); f; f = dec.next()) frames.push({ ...f, body: Buffer.from(f.body) });
  });
  const closed = new Promise<string | undefined>((resolve) => ch.on("close", resolve));
  return { frames, closed };
}

function closeInfo(s: MuxSession): Promise<MuxCloseInfo> {
  return new Promise((resolve) => s.on("close", resolve));
}

describe("MuxSession against a misbehaving peer", () => {
  it("answers a bad frame with GO_AWAY(PROTOCOL_ERROR), counts it and closes the channel", async () => {
    const [a, b] = memoryPipe();
    const session = new MuxSession(a, { initiator: true });
    const raw = rawPeer(b);
    const info = closeInfo(session);
    b.write(encodeData(77, Buffer.from("data for a stream nobody opened")));
    expect(await info).toMatchObject({ code: GOAWAY.PROTOCOL_ERROR, byPeer: false });
    await raw.closed;
    const goAway = raw.frames.find((f) => f.type === FrameType.GO_AWAY);
    expect(goAway?.body.readUInt16BE(0)).toBe(GOAWAY.PROTOCOL_ERROR);
    expect(goAway?.body.toString("utf8", 2)).toMatch(/never opened/);
    expect(session.stats().protocolErrors).toBe(1);
    await expect(session.open("x:1")).rejects.toBeInstanceOf(StreamRefusedError);
  });

  it("survives random garbage without throwing", async () => {
    const [a, b] = memoryPipe({ chunk: 3 });
    const session = new MuxSession(a, { initiator: false });
    rawPeer(b);
    const info = closeInfo(session);
    const junk = Buffer.alloc(HEADER_SIZE + 5, 0xee);
    b.write(junk);
    expect((await info).code).toBe(GOAWAY.PROTOCOL_ERROR);
  });

  it("ends a session whose peer goes silent, after the keepalive timeout", async () => {
    const [a, b] = memoryPipe();
    const session = new MuxSession(a, { initiator: true, keepaliveIntervalMs: 10, keepaliveTimeoutMs: 40 });
    const raw = rawPeer(b); // reads, never answers
    const info = await closeInfo(session);
    expect(info).toMatchObject({ code: GOAWAY.KEEPALIVE_TIMEOUT, byPeer: false });
    await raw.closed;
    expect(raw.frames.filter((f) => f.type === FrameType.PING).length).toBeGreaterThanOrEqual(2);
  });

  it("keeps an idle session with a live peer open and measures its RTT", async () => {
    const [a, b] = memoryPipe();
    const opts = { keepaliveIntervalMs: 5, keepaliveTimeoutMs: 100 };
    const one = new MuxSession(a, { ...opts, initiator: true });
    const two = new MuxSession(b, { ...opts, initiator: false });
    // Several timeouts' worth of idleness: pings keep it alive.
    await new Promise((r) => setTimeout(r, 300));
    expect(one.closed || two.closed).toBe(false);
    expect(one.stats().framesIn).toBeGreaterThan(3);
    one.close();
  });
});

describe("MuxStream", () => {
  it("survives a 'data' handler that destroys the stream while more data is queued", async () => {
    const [a, b] = memoryPipe();
    const client = new MuxSession(a, { initiator: true });
    const server = new MuxSession(b, { initiator: false });
    const accepted: MuxStream[] = [];
    server.on("stream", (req) => accepted.push(req.accept()));
    const s = await client.open("x:1");
    for (let i = 0; i < 8; i++) s.write(Buffer.alloc(16 * 1024, i));
    await new Promise<void>((resolve) => {
      const check = () => (server.stats().dataBytesIn === 8 * 16 * 1024 ? resolve() : setTimeout(check, 2));
      check();
    });
    const clientErr = new Promise((resolve) => s.on("error", resolve));
    const seen: number[] = [];
    const r = accepted[0];
    r.on("data", (d: Buffer) => {
      seen.push(d[0]);
      r.destroy();
    });
    await new Promise((resolve) => r.on("close", resolve));
    // Node's Readable may still hand out what it had buffered; what matters is that our inbox
    // drain stops and nothing throws.
    expect(seen[0]).toBe(0);
    expect(r.destroyed).toBe(true);
    expect(await clientErr).toMatchObject({ code: RESET.CANCELLED });
    client.close();
  });
});

describe("MuxSession over a stuck channel", () => {
  it("close() still writes GO_AWAY and closes a channel that never drains", async () => {
    const written: Buffer[] = [];
    let closedWith: string | undefined | null = null;
    const stuck: ByteChannel = {
      write: (d) => {
        written.push(d);
        return false;
      },
      on() {
        return this;
      },
      close: (reason) => {
        closedWith = reason;
      },
    };
    const session = new MuxSession(stuck, { initiator: true });
    session.open("x:1").catch(() => {});
    await new Promise((r) => setImmediate(r));
    session.close("shutting down");
    await new Promise((r) => setImmediate(r));
    expect(closedWith).toBe("shutting down");
    const dec = new FrameDecoder(1 << 20);
    for (const w of written) dec.push(w);
    const types: number[] = [];
    for (let f = dec.next(); f; f = dec.next()) types.push(f.type);
    expect(types.at(-1)).toBe(FrameType.GO_AWAY);
  });
});

describe("MuxSession.open options", () => {
  it("rejects with TIMEOUT when AbortSignal.timeout fires, and tells the far side", async () => {
    const [a, b] = memoryPipe();
    const client = new MuxSession(a, { initiator: true });
    const server = new MuxSession(b, { initiator: false });
    server.on("stream", () => {}); // never answers
    const err = await client.open("slow:1", { signal: AbortSignal.timeout(20) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: RESET.TIMEOUT, codeName: "TIMEOUT" });
    await new Promise<void>((resolve) => {
      const check = () => (server.stats().resetsReceived === 1 ? resolve() : setTimeout(check, 2));
      check();
    });
    expect(server.stats().openStreams).toBe(0);
    client.close();
  });

  it("rejects targets that cannot be encoded without sending anything", async () => {
    const [a, b] = memoryPipe();
    const client = new MuxSession(a, { initiator: true });
    const raw = rawPeer(b);
    await expect(client.open("")).rejects.toMatchObject({ code: RESET.BAD_TARGET });
    await expect(client.open("x".repeat(2000))).rejects.toMatchObject({ code: RESET.BAD_TARGET });
    client.close();
    await raw.closed;
    expect(raw.frames.some((f) => f.type === FrameType.OPEN)).toBe(false);
  });
});
