/**
 * The SOCKS5 endpoint (ssh -D semantics): a net.Server that runs SocksHandshake per connection,
 * asks `openStream(target)` for a stream (through the tunnel, or straight to the exit dialer in
 * tests) and splices the two. Names are passed through unresolved, so `curl --socks5-hostname`
 * resolves on the exit peer.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type Endpoint, formatEndpoint } from "../../util/addr.js";
import { P2pError } from "../../util/errors.js";
import type { Logger } from "../../util/logger.js";
import { serveSocksClient } from "./connection.js";
import type { SocksCredentials } from "./credentials.js";
import { warnIfExposed } from "./exposure.js";

export interface SocksServerOptions {
  listen: Endpoint;
  credentials?: SocksCredentials;
  /** Opens a stream to `host:port` / `[v6]:port` / `name:port`; rejects with a refusal. */
  openStream: (target: string, opts: { signal: AbortSignal }) => Promise<Duplex>;
  logger?: Pick<Logger, "debug" | "info" | "warn">;
  handshakeTimeoutMs?: number;
  /** Client connections beyond this are closed at once (a bound on sockets and streams). */
  maxConnections?: number;
}

export const DEFAULT_MAX_CONNECTIONS = 1024;

export interface SocksServerStats {
  /** Client connections open now. */
  active: number;
  /** Client connections accepted since start. */
  total: number;
  /** Connections closed before their stream was spliced: bad handshake, auth, refusal, timeout. */
  refused: number;
  /** Connections closed unanswered because maxConnections were already open. */
  dropped: number;
}

export interface SocksServer {
  port: number;
  close(): Promise<void>;
  stats(): SocksServerStats;
}

export async function startSocksServer(opts: SocksServerOptions): Promise<SocksServer> {
  const stats: SocksServerStats = { active: 0, total: 0, refused: 0, dropped: 0 };
  const sockets = new Set<Socket>();
  // allowHalfOpen: the client's FIN must end only the client→target direction.
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    stats.total++;
    stats.active++;
    sockets.add(socket);
    socket.once("close", () => {
      stats.active--;
      sockets.delete(socket);
    });
    serveSocksClient(socket, opts, () => stats.refused++);
  });
  server.maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  server.on("drop", () => stats.dropped++);
  await listen(server, opts.listen);
  const warning = warnIfExposed(opts.listen, opts.credentials);
  if (warning) opts.logger?.warn({ listen: formatEndpoint(opts.listen) }, warning);
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : opts.listen.port;
  opts.logger?.info({ listen: formatEndpoint({ host: opts.listen.host, port }) }, "SOCKS5 server listening");
  return {
    port,
    stats: () => ({ ...stats }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

function listen(server: Server, at: Endpoint): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", (err) =>
      reject(
        new P2pError("SOCKS_LISTEN_FAILED", `cannot listen on ${formatEndpoint(at)}: ${err.message}`, {
          cause: err,
        }),
      ),
    );
    server.listen({ host: at.host, port: at.port }, () => resolve());
  });
}
