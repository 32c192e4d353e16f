/**
 * Joins two duplex streams: bytes flow both ways with backpressure (pipe pauses the source when
 * the destination's buffer is full), an end in one direction ends only that direction (half-close,
 * as ssh -D does), and an error or abrupt close on either side aborts both.
 */
import { Socket } from "node:net";
import { type Duplex, finished } from "node:stream";

/** Resolves once both sides are done, cleanly or not. */
export function splice(a: Duplex, b: Duplex): Promise<void> {
  return new Promise((resolve) => {
    let pending = 2;
    // finished() reports an error, a close before both directions ended (premature close), or a
    // stream that was already destroyed when we got it; each of those aborts both sides.
    const onFinished = (err?: Error | null) => {
      if (err) {
        abort(a);
        abort(b);
      }
      if (--pending === 0) resolve();
    };
    finished(a, onFinished);
    finished(b, onFinished);
    a.pipe(b);
    b.pipe(a);
  });
}

/**
 * A TCP peer is told with a RST, not a FIN: a FIN would look like a clean end, and a client
 * reading to EOF (HTTP/1.0, a file copy) would take a truncated transfer for a complete one.
 */
function abort(side: Duplex): void {
  if (side.destroyed) return;
  if (side instanceof Socket && !side.connecting) side.resetAndDestroy();
  else side.destroy();
}
