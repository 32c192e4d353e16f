import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { splice } from "../../src/tunnel/splice.js";

/** Two connected TCP sockets on loopback: [near, far]. Half-close capable. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer({ allowHalfOpen: true });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const accepted = once(server, "connection");
  const near = connect({
    port: (server.address() as AddressInfo).port,
    host: "127.0.0.1",
    allowHalfOpen: true,
  });
  const [far] = (await accepted) as [Socket];
  await once(near, "connect");
  server.close();
  return [near, far];
}

async function readAll(s: Socket): Promise<string> {
  const chunks: Buffer[] = [];
  s.on("data", (c: Buffer) => chunks.push(c));
  await once(s, "end");
  return Buffer.concat(chunks).toString();
}

/** client ⇄ [a ⇄ splice ⇄ b] ⇄ server */
async function splicedPath() {
  const [client, a] = await socketPair();
  const [b, server] = await socketPair();
  const done = splice(a, b);
  return { client, server, a, b, done };
}

describe("splice", () => {
  it("carries bytes both ways and ends each direction on its own (half-close)", async () => {
    const { client, server, done } = await splicedPath();
    const atServer = readAll(server);
    client.end("request");
    expect(await atServer).toBe("request");
    // The client→server direction is over; server→client still works.
    const atClient = readAll(client);
    server.end("late reply");
    expect(await atClient).toBe("late reply");
    await done;
  });

  it("carries a large transfer intact (backpressure, no loss)", async () => {
    const { client, server, done } = await splicedPath();
    const big = Buffer.alloc(8 * 1024 * 1024, 0x61);
    const atServer = readAll(server);
    client.end(big);
    expect((await atServer).length).toBe(big.length);
    server.end();
    client.resume();
    await done;
  });

  it("an abrupt close on one side aborts the other with a reset, not a clean FIN", async () => {
    const { client, server, b, done } = await splicedPath();
    client.on("error", () => {});
    server.resume();
    const serverError = once(server, "error");
    client.resetAndDestroy();
    await done;
    expect(b.destroyed).toBe(true);
    const [err] = await serverError;
    expect((err as NodeJS.ErrnoException).code).toBe("ECONNRESET");
  });

  it("a stream that is already destroyed aborts the other side", async () => {
    const [client, a] = await socketPair();
    const [b, server] = await socketPair();
    b.destroy();
    await once(b, "close");
    client.resume();
    const clientError = once(client, "error");
    await splice(a, b);
    expect(a.destroyed).toBe(true);
    const [err] = await clientError;
    expect((err as NodeJS.ErrnoException).code).toBe("ECONNRESET");
    server.destroy();
  });
});
