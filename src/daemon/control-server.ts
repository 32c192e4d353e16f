/**
 * The daemon's control socket: a Unix socket (mode 0600) speaking JSON lines. One request per
 * connection: `{"cmd":"status"}` or `{"cmd":"ping","peer":"bob","count":4}`; replies are JSON
 * lines, the last one carrying `"done": true`. Bad requests get an error line, never a crash.
 */
import { chmodSync, mkdirSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import { ControlError } from "../util/errors.js";

export interface ControlHandlers {
  status(): unknown;
  ping(peer: string, count: number, reply: (line: unknown) => void, signal: AbortSignal): Promise<void>;
}

const MAX_REQUEST = 4096;

function isAlive(path: string): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      res(true);
    });
    s.once("error", () => res(false));
  });
}

export async function startControlServer(
  path: string,
  handlers: ControlHandlers,
): Promise<{ close(): Promise<void> }> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (await isAlive(path))
    throw new ControlError("CONTROL_IN_USE", `${path}: another p2ptun daemon is already running here`);
  try {
    unlinkSync(path); // a stale socket from a daemon that died
  } catch {}
  const server: Server = createServer((sock) => serve(sock, handlers));
  await new Promise<void>((res, rej) => {
    server.once("error", (e) =>
      rej(new ControlError("CONTROL_LISTEN", `${path}: cannot listen: ${e.message}`)),
    );
    const old = process.umask(0o177); // the socket file is created 0600 atomically
    server.listen(path, () => {
      process.umask(old);
      res();
    });
  });
  chmodSync(path, 0o600);
  return {
    close: () =>
      new Promise<void>((res) => {
        server.close(() => res());
        try {
          unlinkSync(path);
        } catch {}
      }),
  };
}

function serve(sock: Socket, handlers: ControlHandlers): void {
  let buf = "";
  const abort = new AbortController();
  const send = (obj: unknown) => {
    if (!sock.destroyed) sock.write(`${JSON.stringify(obj)}\n`);
  };
  sock.setEncoding("utf8");
  sock.on("error", () => abort.abort());
  sock.on("close", () => abort.abort());
  sock.on("data", (chunk: string) => {
    buf += chunk;
    if (buf.length > MAX_REQUEST) {
      send({ done: true, error: "request too long" });
      sock.end();
      return;
    }
    const nl = buf.indexOf("\n");
    if (nl < 0) return;
    sock.pause();
    void handle(buf.slice(0, nl), handlers, send, abort.signal).finally(() => sock.end());
  });
}

async function handle(line: string, h: ControlHandlers, send: (o: unknown) => void, signal: AbortSignal) {
  let req: { cmd?: unknown; peer?: unknown; count?: unknown };
  try {
    req = JSON.parse(line);
  } catch {
    return send({ done: true, error: "request is not JSON" });
  }
  try {
    if (req.cmd === "status") return send({ done: true, status: h.status() });
    if (req.cmd === "ping" && typeof req.peer === "string") {
      const count =
        typeof req.count === "number" && req.count >= 1 ? Math.min(Math.floor(req.count), 1000) : 4;
      await h.ping(req.peer, count, send, signal);
      return send({ done: true });
    }
    send({ done: true, error: `unknown request ${JSON.stringify(req.cmd)}` });
  } catch (e) {
    send({ done: true, error: (e as Error).message });
  }
}
