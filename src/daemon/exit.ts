/**
 * The exit side: a stream the peer opened is dialled only if that peer's `allow` list permits
 * the target; otherwise it is reset with a reason the opener sees, and both sides log why.
 */
import type { Acl } from "../tunnel/acl.js";
import { dialTarget } from "../tunnel/exit-dialer.js";
import type { IncomingStream } from "../tunnel/mux/index.js";
import { splice } from "../tunnel/splice.js";
import { toStreamRefused } from "../tunnel/stream-errors.js";
import type { Logger } from "../util/logger.js";

export interface ExitStats {
  accepted: number;
  refused: number;
  active: number;
}

export function handleIncomingStream(
  req: IncomingStream,
  acl: Acl,
  peerName: string,
  logger: Logger,
  stats: ExitStats,
): void {
  dialTarget(req.target, acl).then(
    (socket) => {
      stats.accepted++;
      stats.active++;
      const stream = req.accept();
      logger.debug({ peer: peerName, target: req.target }, "exit: stream opened");
      void splice(stream, socket).then(() => {
        stats.active--;
      });
    },
    (err) => {
      stats.refused++;
      const r = toStreamRefused(err);
      logger.warn(
        { peer: peerName, target: req.target, code: r.code, reason: r.reason },
        "exit: stream refused",
      );
      req.reject(r.wireCode, r.reason);
    },
  );
}
