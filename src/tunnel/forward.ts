/**
 * A local port forward with ssh -L semantics: every connection accepted on `listen` becomes a
 * stream to the peer, which dials `target` on its side. A refused stream closes the local
 * connection and logs the far side's reason.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Endpoint } from "../util/addr.js";
import type { Logger } from "../util/logger.js";
import { splice } from "./splice.js";
import { toStreamRefused } from "./stream-errors.js";

export interface ForwardOptions {
  listen: Endpoint;
  target: string;
  open: (target: string) => Promise<Duplex>;
  logger: Logger;
}

export interface ForwardHandle {
  port: number;
  close(): Promise<void>;
  stats(): { active: number; total: number; refused: number };
}

export async function startForward(opts: ForwardOptions): Promise<ForwardHandle> {
  const counts = { active: 0, total: 0, refused: 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer(
    { allowHalfOpen: true, pauseOnConnect: true, noDelay: true },
    (sock) => {
      counts.total++;
      counts.active++;
      sockets.add(sock);
      const from = `${sock.remoteAddress}:${sock.remotePort}`;
      sock.on("error", () => {}); // reported through splice or the open failure below
      sock.once("close", () => {
        counts.active--;
        sockets.delete(sock);
      });
      opts.open(opts.target).then(
        (stream) => {
          if (sock.destroyed) {
            stream.destroy();
            return;
          }
          void splice(sock, stream);
          sock.resume();
        },
        (err) => {
          counts.refused++;
          const r = toStreamRefused(err);
          opts.logger.warn(
            { from, target: opts.target, code: r.code, reason: r.reason },
            "forward: stream refused",
          );
          sock.destroy();
        },
      );
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.listen.port, opts.listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    stats: () => ({ ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
