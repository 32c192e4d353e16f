import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Server } from "node:net";
import fc from "fast-check";
import { SocksClient } from "socks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Acl } from "../../src/tunnel/acl.js";
import { dialTarget } from "../../src/tunnel/exit-dialer.js";
import { type SocksServer, startSocksServer } from "../../src/tunnel/socks/index.js";

/**
 * Malformed and truncated handshakes against a live server: it must answer with an error code or
 * close, never crash, never hang, and keep serving well-behaved clients afterwards.
 */
let target: Server;
let targetPort: number;
let noAuth: SocksServer;
let withAuth: SocksServer;

beforeAll(async () => {
  target = createServer((s) => s.pipe(s).on("error", () => {}));
  target.listen(0, "127.0.0.1");
  await once(target, "listening");
  targetPort = (target.address() as AddressInfo).port;
  const parsed = Acl.parse([`127.0.0.1:${targetPort}`]);
  if (!parsed.ok) throw new Error(parsed.error);
  // Never touch real DNS or the network: names fail, and only our echo target is allowed.
  const resolve = async (): Promise<string[]> => {
    throw Object.assign(new Error("no DNS in tests"), { code: "ENOTFOUND" });
  };
  const openStream = (t: string) => dialTarget(t, parsed.value, { resolve, connectTimeoutMs: 2_000 });
  noAuth = await startSocksServer({
    listen: { host: "127.0.0.1", port: 0 },
    openStream,
    handshakeTimeoutMs: 2_000,
  });
  withAuth = await startSocksServer({
    listen: { host: "127.0.0.1", port: 0 },
    openStream,
    credentials: { username: "u", password: "p" },
    handshakeTimeoutMs: 2_000,
  });
});

afterAll(async () => {
  await noAuth.close();
  await withAuth.close();
  target.close();
});

/** Sends the chunks, half-closes, and returns everything the server said before it closed. */
async function exchange(port: number, chunks: Uint8Array[]): Promise<Buffer> {
  const sock = connect(port, "127.0.0.1");
  const got: Buffer[] = [];
  sock.on("data", (c: Buffer) => got.push(c));
  sock.on("error", () => {}); // a reset after a failure reply is an acceptable way to close
  const closed = once(sock, "close");
  await once(sock, "connect");
  for (const c of chunks) if (!sock.destroyed) sock.write(c);
  if (!sock.destroyed) sock.end();
  await closed;
  return Buffer.concat(got);
}

const b = (...x: number[]) => Uint8Array.from(x);
const prefixes = fc.constantFrom(
  { port: () => noAuth.port, bytes: new Uint8Array(0) },
  { port: () => noAuth.port, bytes: b(5, 1, 0) },
  { port: () => noAuth.port, bytes: b(5, 1, 0, 5, 1, 0) },
  { port: () => noAuth.port, bytes: b(5, 1, 0, 5, 1, 0, 3) },
  { port: () => withAuth.port, bytes: b(5, 1, 2) },
  { port: () => withAuth.port, bytes: b(5, 1, 2, 1, 1, 117, 1, 112) },
);

describe("SOCKS5 server under malformed input (property)", () => {
  it("answers or closes every malformed handshake and keeps working", async () => {
    await fc.assert(
      fc.asyncProperty(
        prefixes,
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }),
        async (p, chunks) => {
          const reply = await exchange(p.port(), [p.bytes, ...chunks]);
          // Whatever came back is a sequence of well-formed server messages.
          expect(reply.length).toBeLessThanOrEqual(2 + 2 + 10);
          if (reply.length > 0) expect(reply[0]).toBe(5);
        },
      ),
      { numRuns: 300 },
    );
    // The servers still serve a well-behaved client, with and without a password.
    for (const [server, creds] of [
      [noAuth, {}],
      [withAuth, { userId: "u", password: "p" }],
    ] as const) {
      const { socket } = await SocksClient.createConnection({
        proxy: { host: "127.0.0.1", port: server.port, type: 5, ...creds },
        command: "connect",
        destination: { host: "127.0.0.1", port: targetPort },
      });
      socket.write("still alive");
      const [data] = await once(socket, "data");
      expect(String(data)).toBe("still alive");
      socket.destroy();
    }
    expect(noAuth.stats().refused + withAuth.stats().refused).toBeGreaterThan(200);
  });

  it("a truncated valid handshake followed by a FIN is closed, never left hanging", async () => {
    const full = Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, targetPort >> 8, targetPort & 0xff]);
    for (let n = 0; n < full.length; n++) {
      const reply = await exchange(noAuth.port, [full.subarray(0, n)]);
      expect(Array.from(reply)).toEqual(n >= 3 ? [5, 0] : []);
    }
  });
});
