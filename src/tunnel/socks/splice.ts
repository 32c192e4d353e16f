/**
 * Joins two duplex streams: bytes flow both ways with backpressure (pipe pauses the source when
 * the destination's buffer is full), an end in one direction ends only that direction (half-close,
 * as ssh -D does), and an error or abrupt close on either side destroys both.
 */
import type { Duplex } from "node:stream";

/** Resolves once both sides are closed. */
export function splice(a: Duplex, b: Duplex): Promise<void> {
  return new Promise((resolve) => {
    let open = 2;
    const destroyBoth = () => {
      a.destroy();
      b.destroy();
    };
    for (const side of [a, b]) {
      side.on("error", destroyBoth);
      side.once("close", () => {
        // A clean close has seen both directions finish; anything else is an abort to propagate.
        if (!side.readableEnded || !side.writableFinished) destroyBoth();
        if (--open === 0) resolve();
      });
    }
    a.pipe(b);
    b.pipe(a);
  });
}
