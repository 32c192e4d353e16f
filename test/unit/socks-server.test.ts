import { execFile } from "node:child_process";
import { once } from "node:events";
import { createServer as createHttpServer } from "node:http";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { promisify } from "node:util";
import { SocksClient } from "socks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Acl } from "../../src/tunnel/acl.js";
import { dialTarget } from "../../src/tunnel/exit-dialer.js";
import {
  type SocksServer,
  type SocksServerOptions,
  startSocksServer,
  warnIfExposed,
} from "../../src/tunnel/socks/index.js";
import { STREAM_REFUSAL_CODES } from "../../src/tunnel/stream-errors.js";

/** Echo targets on 127.0.0.1 (and ::1 when the host has IPv6) that count what reaches them. */
let echo4: Server;
let echo6: Server | undefined;
let port4: number;
let port6 = 0;
let accepted = 0;
const targets = new Set<Socket>();
const servers: SocksServer[] = [];

async function listenEcho(host: string): Promise<Server> {
  const s = createServer({ allowHalfOpen: true }, (sock) => {
    accepted++;
    targets.add(sock);
    sock.on("error", () => {});
    sock.pipe(sock); // echoes, and ends its side when the client ends (half-close)
  });
  s.listen(0, host);
  await once(s, "listening");
  return s;
}

const resolve = async (name: string) => {
  if (name === "svc.test") return ["127.0.0.1"];
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: "ENOTFOUND" });
};

let acl: Acl;

beforeAll(async () => {
  echo4 = await listenEcho("127.0.0.1");
  port4 = (echo4.address() as AddressInfo).port;
  try {
    echo6 = await listenEcho("::1");
    port6 = (echo6.address() as AddressInfo).port;
  } catch {
    echo6 = undefined;
  }
  const parsed = Acl.parse([`127.0.0.1:${port4}`, `[::1]:${port6 || 1}`, "127.0.0.1:1-1023"]);
  if (!parsed.ok) throw new Error(parsed.error);
  acl = parsed.value;
});

afterAll(async () => {
  for (const s of servers) await s.close();
  for (const t of targets) t.destroy();
  echo4.close();
  echo6?.close();
});

async function socksServer(extra: Partial<SocksServerOptions> = {}): Promise<SocksServer> {
  const s = await startSocksServer({
    listen: { host: "127.0.0.1", port: 0 },
    openStream: (target) => dialTarget(target, acl, { resolve }),
    ...extra,
  });
  servers.push(s);
  return s;
}

function viaSocks(
  server: SocksServer,
  host: string,
  port: number,
  opts: { userId?: string; password?: string } = {},
) {
  return SocksClient.createConnection({
    proxy: { host: "127.0.0.1", port: server.port, type: 5, userId: opts.userId, password: opts.password },
    command: "connect",
    destination: { host, port },
    timeout: 10_000,
  });
}

async function roundTrip(socket: Socket, text: string): Promise<string> {
  socket.write(text);
  const [data] = await once(socket, "data");
  return String(data);
}

async function rejection(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => "connected",
    (e: Error) => e.message,
  );
}

describe("SOCKS5 server with the exit dialer behind it", () => {
  it("CONNECTs to an IPv4 target and carries bytes both ways", async () => {
    const server = await socksServer();
    const { socket } = await viaSocks(server, "127.0.0.1", port4);
    expect(await roundTrip(socket, "hello v4")).toBe("hello v4");
    socket.destroy();
  });

  it("passes a domain through unresolved; the exit side resolves it", async () => {
    const seen: string[] = [];
    const server = await socksServer({
      openStream: (target) => {
        seen.push(target);
        return dialTarget(target, acl, { resolve });
      },
    });
    const { socket } = await viaSocks(server, "svc.test", port4);
    expect(await roundTrip(socket, "hello name")).toBe("hello name");
    expect(seen).toEqual([`svc.test:${port4}`]);
    socket.destroy();
  });

  it("CONNECTs to an IPv6 target", async (ctx) => {
    if (!echo6) return ctx.skip(); // no ::1 on this host
    const server = await socksServer();
    const { socket } = await viaSocks(server, "::1", port6);
    expect(await roundTrip(socket, "hello v6")).toBe("hello v6");
    socket.destroy();
  });

  it("username/password: right credentials pass, wrong ones and no-auth clients are refused", async () => {
    const server = await socksServer({ credentials: { username: "joe", password: "pw" } });
    const ok = await viaSocks(server, "127.0.0.1", port4, { userId: "joe", password: "pw" });
    expect(await roundTrip(ok.socket, "authed")).toBe("authed");
    ok.socket.destroy();
    expect(
      await rejection(viaSocks(server, "127.0.0.1", port4, { userId: "joe", password: "nope" })),
    ).toMatch(/Authentication failed/);
    expect(await rejection(viaSocks(server, "127.0.0.1", port4))).toMatch(/no accepted authentication type/);
    expect(server.stats().refused).toBe(2);
  });

  it("answers each refusal with its RFC 1928 reply code", async () => {
    const before = accepted;
    const server = await socksServer();
    // Forbidden by the ACL: NotAllowed, and the target is never reached.
    expect(await rejection(viaSocks(server, "127.0.0.1", port4 + 1 === 65536 ? 1 : port4 + 1))).toMatch(
      /NotAllowed/,
    );
    expect(accepted).toBe(before);
    // Allowed, nothing listening: ConnectionRefused (127.0.0.1:1 is allowed by 1-1023).
    expect(await rejection(viaSocks(server, "127.0.0.1", 1))).toMatch(/ConnectionRefused/);
    // Name the exit cannot resolve: HostUnreachable.
    expect(await rejection(viaSocks(server, "nowhere.test", port4))).toMatch(/HostUnreachable/);
  });

  it.each([
    ["NAME_NOT_RESOLVED", "HostUnreachable"],
    ["NETWORK_UNREACHABLE", "NetworkUnreachable"],
    ["HOST_UNREACHABLE", "HostUnreachable"],
    ["TIMEOUT", "TTLExpired"],
    ["PEER_NOT_CONNECTED", "NetworkUnreachable"],
    ["INTERNAL", "Failure"],
  ] as const)("a mux-style rejection with code %s becomes %s", async (code, reply) => {
    // The mux rejects with a plain error carrying the wire number and a reason text.
    const server = await socksServer({
      openStream: async () => {
        throw Object.assign(new Error("stream reset"), { code: STREAM_REFUSAL_CODES[code], reason: "test" });
      },
    });
    expect(await rejection(viaSocks(server, "svc.test", 80))).toBe(
      `Socks5 proxy rejected connection - ${reply}`,
    );
  });

  it("answers BIND and UDP ASSOCIATE with CommandNotSupported", async () => {
    const server = await socksServer();
    for (const command of ["bind", "associate"] as const) {
      // createConnection only speaks CONNECT; the event API speaks all three commands.
      const client = new SocksClient({
        proxy: { host: "127.0.0.1", port: server.port, type: 5 },
        command,
        destination: { host: "127.0.0.1", port: port4 },
      });
      const failed = once(client, "error");
      client.connect();
      const [err] = await failed;
      expect((err as Error).message).toMatch(/CommandNotSupported/);
    }
  });

  it("respects half-close: the client's FIN reaches the target, the reply still comes back", async () => {
    const server = await socksServer();
    const { socket } = await viaSocks(server, "127.0.0.1", port4);
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.end("sent before FIN");
    await once(socket, "end"); // the echo server ends after echoing everything it got
    expect(Buffer.concat(chunks).toString()).toBe("sent before FIN");
  });

  it("forwards data sent in the same packet as the request (optimistic data)", async () => {
    const server = await socksServer();
    const raw = connect(server.port, "127.0.0.1");
    await once(raw, "connect");
    const request = Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, port4 >> 8, port4 & 0xff]);
    raw.write(Buffer.concat([request, Buffer.from("early")]));
    const got: Buffer[] = [];
    raw.on("data", (c: Buffer) => got.push(c));
    while (Buffer.concat(got).length < 2 + 10 + 5) await once(raw, "data");
    const all = Buffer.concat(got);
    expect(Array.from(all.subarray(0, 4))).toEqual([5, 0, 5, 0]);
    expect(all.subarray(12).toString()).toBe("early");
    raw.destroy();
  });

  it("closes a client that sends nothing, and one that gives up mid-handshake", async () => {
    const server = await socksServer({ handshakeTimeoutMs: 50 });
    const silent = connect(server.port, "127.0.0.1");
    silent.on("data", () => {});
    await once(silent, "close");
    const quitter = connect(server.port, "127.0.0.1");
    quitter.on("data", () => {});
    quitter.end(Buffer.from([5, 1]));
    await once(quitter, "close");
    expect(server.stats()).toMatchObject({ total: 2, refused: 2 });
  });

  it("counts active and total connections", async () => {
    const server = await socksServer();
    const a = await viaSocks(server, "127.0.0.1", port4);
    const b = await viaSocks(server, "127.0.0.1", port4);
    expect(server.stats()).toEqual({ active: 2, total: 2, refused: 0, dropped: 0 });
    a.socket.destroy();
    b.socket.destroy();
    while (server.stats().active > 0) await new Promise((r) => setImmediate(r));
    expect(server.stats()).toEqual({ active: 0, total: 2, refused: 0, dropped: 0 });
  });

  it("closes connections beyond maxConnections without serving them", async () => {
    const server = await socksServer({ maxConnections: 1 });
    const first = await viaSocks(server, "127.0.0.1", port4);
    expect(await rejection(viaSocks(server, "127.0.0.1", port4))).not.toBe("connected");
    expect(server.stats()).toMatchObject({ active: 1, total: 1, dropped: 1 });
    expect(await roundTrip(first.socket, "still served")).toBe("still served");
    first.socket.destroy();
  });

  it("destroys a stream that opens after its client left, and aborts the open", async () => {
    let release!: (d: Duplex) => void;
    let signal: AbortSignal | undefined;
    const opened = new Promise<Duplex>((r) => {
      release = r;
    });
    const server = await socksServer({
      openStream: (_t, opts) => {
        signal = opts.signal;
        return opened;
      },
    });
    const raw = connect(server.port, "127.0.0.1");
    raw.write(Buffer.from([5, 1, 0, 5, 1, 0, 3, 8, ...Buffer.from("svc.test"), 0, 80]));
    await once(raw, "data");
    while (!signal) await new Promise((r) => setImmediate(r));
    raw.resetAndDestroy(); // the client goes away hard while the stream is still opening
    await once(signal, "abort");
    const late = connect(port4, "127.0.0.1");
    release(late);
    await once(late, "close");
    expect(late.destroyed).toBe(true);
  });

  it("fails to start with a clear error when the port is taken", async () => {
    const server = await socksServer();
    await expect(
      startSocksServer({ listen: { host: "127.0.0.1", port: server.port }, openStream: resolveNever }),
    ).rejects.toMatchObject({
      code: "SOCKS_LISTEN_FAILED",
    });
  });

  it("curl --socks5-hostname fetches a page through it, the name resolved on the exit side", async () => {
    const http = createHttpServer((_req, res) => res.end("hello through socks"));
    http.listen(0, "127.0.0.1");
    await once(http, "listening");
    const httpPort = (http.address() as AddressInfo).port;
    const parsed = Acl.parse([`127.0.0.1:${httpPort}`]);
    if (!parsed.ok) throw new Error(parsed.error);
    const server = await socksServer({ openStream: (t) => dialTarget(t, parsed.value, { resolve }) });
    try {
      const { stdout } = await promisify(execFile)("curl", [
        "-sS",
        "--max-time",
        "20",
        "--socks5-hostname",
        `127.0.0.1:${server.port}`,
        `http://svc.test:${httpPort}/`,
      ]);
      expect(stdout).toBe("hello through socks");
    } finally {
      http.close();
    }
  });
});

const resolveNever = () => new Promise<Duplex>(() => {});

describe("warnIfExposed", () => {
  it("is quiet on loopback or with a password, loud otherwise", () => {
    expect(warnIfExposed({ host: "127.0.0.1", port: 1080 })).toBeUndefined();
    expect(warnIfExposed({ host: "::1", port: 1080 })).toBeUndefined();
    expect(warnIfExposed({ host: "0.0.0.0", port: 1080 }, { username: "a", password: "b" })).toBeUndefined();
    expect(warnIfExposed({ host: "0.0.0.0", port: 1080 })).toMatch(/0\.0\.0\.0:1080 WITHOUT a password/);
    expect(warnIfExposed({ host: "::", port: 1080 })).toMatch(/\[::\]:1080/);
  });
});
