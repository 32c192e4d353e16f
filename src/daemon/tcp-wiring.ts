/**
 * Builds the TCP fallback for the daemon (when `punch.tcpFallback` is on): the port every TCP
 * registration and punch uses, and the TcpFallback whose events go to the peer they concern.
 * Kept out of daemon.ts so the composition root stays plumbing only.
 */
import type { Clock } from "../util/clock.js";
import type { Logger } from "../util/logger.js";
import type { Peer } from "./peer.js";
import type { SessionPump } from "./session-pump.js";
import { TcpFallback } from "./tcp-fallback.js";
import { TcpPortHolder } from "./tcp-introducer.js";

export interface TcpWiring {
  port: TcpPortHolder;
  fallback: TcpFallback;
}

export function createTcpFallback(o: {
  enabled: boolean;
  pump: SessionPump;
  clock: Clock;
  logger: Logger;
  /** The peer with this id (base64 public key), and re-arming its timer after an event. */
  peer: (id: string) => Peer | undefined;
  rearm: (peer: Peer) => void;
}): TcpWiring | undefined {
  if (!o.enabled) return undefined;
  const port = new TcpPortHolder();
  const toPeer = (id: string, fn: (p: Peer, now: number) => void) => {
    const p = o.peer(id);
    if (!p) return;
    fn(p, o.clock.now());
    o.rearm(p);
  };
  const fallback = new TcpFallback({
    port,
    pump: o.pump,
    clock: o.clock,
    logger: o.logger,
    events: {
      adopt: (id, endpoint) => toPeer(id, (p) => p.onTcpPath(endpoint)),
      failed: (id, reason) => toPeer(id, (p, now) => p.onTcpFailed(reason, now)),
      closed: (id, _endpoint, reason) => toPeer(id, (p, now) => p.onTcpClosed(reason, now)),
    },
  });
  return { port, fallback };
}
