/**
 * Reusable mux compliance suite: the same behaviour is required over every ByteChannel (memory
 * pipe, reliable UDP channel, TCP framing). Call `muxComplianceSuite(name, makePair)` from a
 * `*.test.ts` file; `makePair` returns two connected channel ends.
 */
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import type { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import type { ByteChannel } from "../../src/tunnel/channel.js";
import { DEFAULT_STREAM_SEND_BUFFER, INITIAL_STREAM_WINDOW } from "../../src/tunnel/mux/constants.js";
import {
  type IncomingStream,
  MuxSession,
  type MuxSessionOptions,
  RESET,
  StreamRefusedError,
  StreamResetError,
} from "../../src/tunnel/mux/index.js";
import { STREAM_HIGH_WATER_MARK } from "../../src/tunnel/mux/stream.js";

type MakePair = () => Promise<[ByteChannel, ByteChannel]> | [ByteChannel, ByteChannel];

/** Everything a test needs: both sessions and the raw channel ends under them. */
interface Rig {
  client: MuxSession;
  server: MuxSession;
  clientChannel: ByteChannel;
  serverChannel: ByteChannel;
}

/**
 * Reads a stream to its end. Not `for await`: the async iterator destroys the stream when the
 * readable side ends, which would reset a half-closed stream whose writable side is still in use.
 */
export function readAll(s: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on("data", (c: Buffer) => parts.push(c));
    s.once("end", () => resolve(Buffer.concat(parts)));
    s.once("error", reject);
  });
}

/** Writes `data` in `chunk`-sized pieces honouring backpressure, then ends the stream. */
export async function writeAll(s: Duplex, data: Buffer, chunk = 64 * 1024, end = true): Promise<void> {
  for (let off = 0; off < data.length; off += chunk) {
    if (!s.write(data.subarray(off, off + chunk))) await once(s, "drain");
  }
  if (end) s.end();
}

function sha256(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}

/** Resolves when `cond()` holds, checking every few ms; fails after `limitMs` (a hang guard, not a speed check). */
export async function eventually(cond: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The server side answers every stream by echoing it. */
function echo(req: IncomingStream): void {
  const s = req.accept();
  s.on("error", ignore);
  s.pipe(s);
}

/** Streams still open when a test tears its sessions down error with PEER_GONE; that is expected. */
function ignore(): void {}

/** Distinct pseudo-random content per stream, so swapped or shifted bytes cannot go unnoticed. */
function payload(n: number): Buffer {
  return randomBytes(n);
}

export interface SuiteTuning {
  /** Bytes each way in the large-transfer test (default 20 MB); lower it for slow channels. */
  largeTransferBytes?: number;
}

/**
 * Registers the suite. `opts` is passed to both MuxSessions (minus `initiator`); `tuning` scales
 * the heavy tests for slower channels.
 */
export function muxComplianceSuite(
  name: string,
  makePair: MakePair,
  opts: Partial<MuxSessionOptions> = {},
  tuning: SuiteTuning = {},
): void {
  describe(`mux compliance: ${name}`, () => {
    const rigs: Rig[] = [];

    async function rig(serverHandler?: (req: IncomingStream) => void): Promise<Rig> {
      const [clientChannel, serverChannel] = await makePair();
      const client = new MuxSession(clientChannel, { ...opts, initiator: true });
      const server = new MuxSession(serverChannel, { ...opts, initiator: false });
      if (serverHandler) server.on("stream", serverHandler);
      const r = { client, server, clientChannel, serverChannel };
      rigs.push(r);
      return r;
    }

    afterEach(() => {
      for (const r of rigs.splice(0)) {
        r.client.close("test over");
        r.server.close("test over");
      }
    });

    it("opens a stream with its target, accepts it and echoes bytes", async () => {
      const targets: string[] = [];
      const { client } = await rig((req) => {
        targets.push(req.target);
        echo(req);
      });
      const s = await client.open("127.0.0.1:22");
      expect(s.target).toBe("127.0.0.1:22");
      s.end(Buffer.from("hello, mux"));
      expect((await readAll(s)).toString()).toBe("hello, mux");
      expect(targets).toEqual(["127.0.0.1:22"]);
    });

    it("carries 64 concurrent streams of random data byte-exact", async () => {
      const { client } = await rig(echo);
      const sizes = Array.from({ length: 64 }, (_, i) => (i * 7919) % (300 * 1024));
      const results = await Promise.all(
        sizes.map(async (n, i) => {
          const data = payload(n);
          const s = await client.open(`example.lan:${1000 + i}`);
          const [got] = await Promise.all([readAll(s), writeAll(s, data, 16 * 1024)]);
          return got.equals(data);
        }),
      );
      expect(results).toEqual(sizes.map(() => true));
    });

    const large = tuning.largeTransferBytes ?? 20 * 1024 * 1024;
    it(`moves ${(large / 1024 / 1024).toFixed(0)} MB each way byte-exact`, async () => {
      const size = large;
      const down = payload(size);
      const { client } = await rig((req) => {
        const s = req.accept();
        if (req.target === "upload:1") {
          readAll(s).then((got) => s.end(`${got.length} ${sha256(got)}`));
        } else {
          s.resume();
          writeAll(s, down).catch(ignore);
        }
      });
      const up = payload(size);
      const u = await client.open("upload:1");
      const [answer] = await Promise.all([readAll(u), writeAll(u, up)]);
      expect(answer.toString()).toBe(`${size} ${sha256(up)}`);

      const d = await client.open("download:1");
      d.end();
      const got = await readAll(d);
      expect(got.length).toBe(size);
      expect(sha256(got)).toBe(sha256(down));
    });

    it("shares the channel fairly between busy streams", async () => {
      const streams = 8;
      const size = 4 * 1024 * 1024;
      const received = new Map<string, number>();
      let atFirstEnd: number[] | null = null;
      const { client } = await rig((req) => {
        const s = req.accept();
        received.set(req.target, 0);
        s.on("data", (c: Buffer) => received.set(req.target, (received.get(req.target) ?? 0) + c.length));
        s.on("end", () => {
          atFirstEnd ??= [...received.values()];
          s.end();
        });
      });
      const opened = await Promise.all(Array.from({ length: streams }, (_, i) => client.open(`bulk:${i}`)));
      const data = payload(size);
      await Promise.all(
        opened.map(async (s) => {
          const ended = once(s, "end");
          s.resume();
          await writeAll(s, data);
          await ended;
        }),
      );
      // When the first stream had everything, every other one had most of its bytes too:
      // round-robin, not one stream after another.
      expect(atFirstEnd).toHaveLength(streams);
      for (const n of atFirstEnd!) expect(n).toBeGreaterThan(size / 4);
    });

    it("half-closes: the opener ends first and still reads the answer", async () => {
      const { client } = await rig((req) => {
        const s = req.accept();
        // Answer only after the opener's FIN: proves our writable side outlives its readable end.
        readAll(s).then((got) => s.end(Buffer.concat([Buffer.from("got:"), got])));
      });
      const s = await client.open("svc:1");
      s.end("question");
      expect((await readAll(s)).toString()).toBe("got:question");
    });

    it("half-closes: the accepter ends first and still reads", async () => {
      const received: Promise<Buffer>[] = [];
      const { client } = await rig((req) => {
        const s = req.accept();
        s.write("banner");
        s.end();
        received.push(readAll(s));
      });
      const s = await client.open("svc:2");
      const banner = await readAll(s); // the server's side ended...
      expect(banner.toString()).toBe("banner");
      s.end("late reply"); // ...but it still reads what we send afterwards
      expect((await received[0]).toString()).toBe("late reply");
    });

    it("rejects open() with the far side's reset code and text", async () => {
      const { client } = await rig((req) =>
        req.reject(RESET.CONNECTION_REFUSED, "connect ECONNREFUSED 127.0.0.1:22"),
      );
      const err = await client.open("127.0.0.1:22").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StreamRefusedError);
      expect((err as StreamRefusedError).code).toBe(RESET.CONNECTION_REFUSED);
      expect((err as StreamRefusedError).reason).toBe("connect ECONNREFUSED 127.0.0.1:22");
      expect((err as StreamRefusedError).codeName).toBe("CONNECTION_REFUSED");
    });

    it("refuses after an asynchronous decision, before any accept", async () => {
      const { client, server } = await rig((req) => {
        setImmediate(() => req.reject(RESET.NAME_NOT_RESOLVED, `getaddrinfo ENOTFOUND ${req.target}`));
      });
      const err = await client.open("nowhere.invalid:80").catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: RESET.NAME_NOT_RESOLVED,
        reason: "getaddrinfo ENOTFOUND nowhere.invalid:80",
      });
      await eventually(
        () => client.stats().openStreams === 0 && server.stats().openStreams === 0,
        "refused stream forgotten",
      );
    });

    it("refuses streams when the peer has no stream handler", async () => {
      const { client } = await rig();
      await expect(client.open("x:1")).rejects.toMatchObject({ code: RESET.REFUSED_BY_POLICY });
    });

    it("resets an accepted stream with a code and reason, both ways", async () => {
      const serverStreams: Duplex[] = [];
      const { client } = await rig((req) => serverStreams.push(req.accept().on("error", ignore)));
      const s = await client.open("svc:3");
      await eventually(() => serverStreams.length === 1, "server stream");
      (serverStreams[0] as unknown as { reset(c: number, r: string): void }).reset(
        RESET.CONNECTION_RESET,
        "target reset",
      );
      const [err] = await once(s, "error");
      expect(err).toBeInstanceOf(StreamResetError);
      expect(err).toMatchObject({ code: RESET.CONNECTION_RESET, reason: "target reset" });

      const s2 = await client.open("svc:4");
      await eventually(() => serverStreams.length === 2, "second server stream");
      const err2 = once(serverStreams[1], "error");
      s2.on("error", ignore);
      s2.destroy(Object.assign(new Error("client gave up"), { resetCode: RESET.TIMEOUT }));
      const [e2] = await err2;
      expect(e2).toMatchObject({ code: RESET.TIMEOUT, reason: "client gave up" });
      expect(serverStreams[0].destroyed).toBe(true);
    });

    it("lets both sides open streams at the same time", async () => {
      const { client, server } = await rig(echo);
      client.on("stream", echo);
      const [a, b] = await Promise.all([client.open("from-client:1"), server.open("from-server:1")]);
      a.end("A");
      b.end("B");
      const [ra, rb] = await Promise.all([readAll(a), readAll(b)]);
      expect([ra.toString(), rb.toString()]).toEqual(["A", "B"]);
      expect(a.id % 2).toBe(1);
      expect(b.id % 2).toBe(0);
    });

    it("a paused reader on one stream does not stop another stream", async () => {
      const held: Duplex[] = [];
      const { client } = await rig((req) => {
        if (req.target === "slow:1")
          held.push(req.accept().on("error", ignore)); // never read
        else echo(req);
      });
      const slow = (await client.open("slow:1")).on("error", ignore);
      const big = payload(8 * 1024 * 1024);
      let slowDone = false;
      writeAll(slow, big, 16 * 1024, false).then(() => {
        slowDone = true;
      }, ignore);

      const fast = await client.open("fast:1");
      const data = payload(4 * 1024 * 1024);
      const [got] = await Promise.all([readAll(fast), writeAll(fast, data)]);
      expect(got.equals(data)).toBe(true);
      // The slow stream is still stuck: its writer waits for 'drain' and its reader holds no
      // more than one window's worth.
      expect(slowDone).toBe(false);
      expect(
        held[0].readableLength + (held[0] as unknown as { bufferedIn: number }).bufferedIn,
      ).toBeLessThanOrEqual(INITIAL_STREAM_WINDOW);
      expect(slow.writableNeedDrain).toBe(true);
    });

    it("keeps memory bounded behind a paused reader, then delivers everything once it reads", async () => {
      const held: Duplex[] = [];
      const { client, server } = await rig((req) => held.push(req.accept().on("error", ignore)));
      const s = (await client.open("sink:1")).on("error", ignore);
      const data = payload(6 * 1024 * 1024);
      const chunk = 16 * 1024;
      let writerDone = false;
      const writing = writeAll(s, data, chunk).then(() => {
        writerDone = true;
      });
      await eventually(
        () => held.length === 1 && server.stats().dataBytesIn >= INITIAL_STREAM_WINDOW,
        "window filled",
      );
      await eventually(() => s.writableNeedDrain, "the writer is told to wait");
      // Let any in-flight bytes settle, then check nothing grew past the window and buffers.
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      expect(writerDone).toBe(false);
      expect(server.stats().dataBytesIn).toBe(INITIAL_STREAM_WINDOW);
      expect(server.stats().bufferedIn + held[0].readableLength).toBeLessThanOrEqual(INITIAL_STREAM_WINDOW);
      const sendBuffer = opts.streamSendBuffer ?? DEFAULT_STREAM_SEND_BUFFER;
      const clientBuffered = client.stats().bufferedOut + s.writableLength;
      expect(clientBuffered).toBeLessThanOrEqual(sendBuffer + STREAM_HIGH_WATER_MARK + 2 * chunk);

      // Now the reader drains: the rest arrives, in order.
      const got = await readAll(held[0]);
      await writing;
      expect(got.equals(data)).toBe(true);
    });

    it("channel close rejects pending opens and errors open streams", async () => {
      const pending: IncomingStream[] = [];
      const { client, server, clientChannel } = await rig((req) => {
        if (req.target === "hang:1")
          pending.push(req); // never answered
        else echo(req);
      });
      const open = await client.open("echo:1");
      const waiting = client.open("hang:1");
      await eventually(() => pending.length === 1, "server saw the second open");
      const streamErr = once(open, "error");
      const clientClosed = once(client, "close");
      const serverClosed = once(server, "close");
      clientChannel.close("link down");
      const err = await waiting.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StreamRefusedError);
      expect((err as StreamRefusedError).code).toBe(RESET.PEER_GONE);
      const [se] = await streamErr;
      expect(se).toBeInstanceOf(StreamResetError);
      expect(se).toMatchObject({ code: RESET.PEER_GONE });
      await Promise.all([clientClosed, serverClosed]);
      await expect(client.open("echo:2")).rejects.toMatchObject({ code: RESET.PEER_GONE });
      // Answering a request of a dead session gives a stream that errors, not a crash.
      expect(pending[0].signal.aborted).toBe(true);
      const late = pending[0].accept();
      const [le] = await once(late, "error");
      expect(le).toMatchObject({ code: RESET.PEER_GONE });
    });

    it("close() with a reason ends the peer's streams with that reason", async () => {
      const serverStreams: Duplex[] = [];
      const { client, server } = await rig((req) => serverStreams.push(req.accept().on("error", ignore)));
      (await client.open("svc:5")).on("error", ignore);
      await eventually(() => serverStreams.length === 1, "server stream");
      const err = once(serverStreams[0], "error");
      const closed = once(server, "close");
      client.close("daemon shutting down");
      const [e] = await err;
      expect(e).toMatchObject({ code: RESET.PEER_GONE });
      expect((e as StreamResetError).reason).toContain("daemon shutting down");
      const [info] = await closed;
      expect(info).toMatchObject({ byPeer: true, reason: "daemon shutting down" });
    });

    it("an opener that gives up before accept cancels the request on the far side", async () => {
      const reqs: IncomingStream[] = [];
      const { client, server } = await rig((req) => reqs.push(req));
      const ac = new AbortController();
      const opening = client.open("slow-dial:1", { signal: ac.signal });
      await eventually(() => reqs.length === 1, "request arrived");
      ac.abort();
      await expect(opening).rejects.toMatchObject({ code: RESET.CANCELLED });
      await eventually(() => server.stats().resetsReceived === 1, "cancel reached the server");
      expect(reqs[0].signal.aborted).toBe(true);
      expect(reqs[0].signal.reason).toMatchObject({ code: RESET.CANCELLED });
      const late = reqs[0].accept();
      const [e] = await once(late, "error");
      expect(e).toMatchObject({ code: RESET.CANCELLED });
    });

    it("forgets streams once both sides are done", async () => {
      const { client, server } = await rig(echo);
      for (let i = 0; i < 10; i++) {
        const s = await client.open(`svc:${i}`);
        s.end("x");
        await readAll(s);
      }
      await eventually(
        () => client.stats().openStreams === 0 && server.stats().openStreams === 0,
        "streams freed",
      );
      expect(client.stats().resetsSent + server.stats().resetsSent).toBe(0);
    });
  });
}
