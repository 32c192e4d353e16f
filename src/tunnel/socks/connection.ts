/**
 * One SOCKS5 client connection: feeds its bytes to SocksHandshake, performs the actions, opens the
 * stream, and splices. Life cycle:
 *
 *   handshake (timer running) ─▶ opening the stream (bytes after the request are kept, bounded)
 *     ─▶ success reply + splice        or      failure reply + close
 */
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "../../util/logger.js";
import { splice } from "../splice.js";
import { toStreamRefused } from "../stream-errors.js";
import { FAILURE_LINGER_MS, HANDSHAKE_TIMEOUT_MS, MAX_EARLY_DATA_BYTES } from "./constants.js";
import type { SocksCredentials } from "./credentials.js";
import { type HandshakeAction, SocksHandshake } from "./handshake.js";

export interface ConnectionOptions {
  credentials?: SocksCredentials;
  openStream: (target: string, opts: { signal: AbortSignal }) => Promise<Duplex>;
  logger?: Pick<Logger, "debug">;
  handshakeTimeoutMs?: number;
}

export function serveSocksClient(socket: Socket, opts: ConnectionOptions, countRefused: () => void): void {
  const handshake = new SocksHandshake(opts.credentials);
  // Aborted when the client goes away, so that a pending stream open can give up.
  const abort = new AbortController();
  const log = opts.logger;
  const peer = `${socket.remoteAddress}:${socket.remotePort}`;
  const timer = setTimeout(() => {
    log?.debug({ peer }, "SOCKS5 handshake timed out");
    countRefused();
    socket.destroy();
  }, opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
  socket.once("close", () => {
    clearTimeout(timer);
    abort.abort();
  });
  // Errors before the splice (RST from the client…) just close; the splice installs its own.
  socket.on("error", () => socket.destroy());

  const onData = (chunk: Buffer) => {
    for (const action of handshake.feed(chunk)) perform(action);
  };
  // A client that half-closes mid-handshake can never finish it.
  const onEndInHandshake = () => {
    log?.debug({ peer }, "SOCKS5 client closed during the handshake");
    countRefused();
    socket.destroy();
  };
  const leaveHandshake = () => {
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("end", onEndInHandshake);
  };

  const perform = (action: HandshakeAction) => {
    if (action.type === "send") {
      socket.write(action.data);
    } else if (action.type === "close") {
      log?.debug({ peer, why: action.why }, "SOCKS5 handshake rejected");
      countRefused();
      leaveHandshake();
      closeAfterReply(socket);
    } else {
      leaveHandshake();
      void openAndSplice(action.target, action.earlyData);
    }
  };

  const openAndSplice = async (target: string, earlyData: Uint8Array) => {
    // Keep reading while the stream opens, so that a reset client is noticed (and the open
    // aborted); what arrives is kept for the stream, and past a bound we stop reading.
    const early: Uint8Array[] = earlyData.length > 0 ? [earlyData] : [];
    let earlyBytes = earlyData.length;
    const keepEarly = (chunk: Buffer) => {
      early.push(chunk);
      earlyBytes += chunk.length;
      if (earlyBytes >= MAX_EARLY_DATA_BYTES) socket.pause();
    };
    socket.on("data", keepEarly);
    let stream: Duplex;
    try {
      stream = await opts.openStream(target, { signal: abort.signal });
    } catch (err) {
      socket.off("data", keepEarly);
      const refusal = toStreamRefused(err);
      log?.debug({ peer, target, code: refusal.code, reason: refusal.reason }, "SOCKS5 connect refused");
      countRefused();
      if (!socket.destroyed) {
        socket.write(handshake.refused(refusal.code));
        closeAfterReply(socket);
      }
      return;
    }
    socket.off("data", keepEarly);
    if (socket.destroyed) {
      stream.destroy();
      return;
    }
    log?.debug({ peer, target }, "SOCKS5 connect");
    socket.write(handshake.succeeded());
    for (const chunk of early) stream.write(chunk);
    // Synchronously after removing keepEarly, so no chunk can slip between the two readers; a
    // client FIN seen meanwhile is replayed by pipe() to the stream.
    void splice(socket, stream);
  };

  socket.on("data", onData);
  socket.once("end", onEndInHandshake);
}

/**
 * Ends the connection after a failure reply. The client's unread bytes are drained rather than
 * left in the kernel, where they would turn our close into a RST that can destroy the reply.
 * Once both sides have ended the socket closes itself (autoDestroy); a client that never sends
 * its FIN is cut off after a linger time.
 */
function closeAfterReply(socket: Socket): void {
  socket.on("data", () => {});
  socket.resume();
  socket.end();
  setTimeout(() => socket.destroy(), FAILURE_LINGER_MS).unref();
}
