/**
 * Joins two duplex streams both ways with backpressure (pipe), keeping half-close: when one
 * side ends, the other's writable is ended and the reverse direction keeps flowing, as ssh -L
 * does. An error on either side destroys both. `done` runs once, when both are finished.
 */
import type { Duplex } from "node:stream";

export function splice(a: Duplex, b: Duplex, done?: (err?: Error) => void): void {
  let finished = false;
  let closed = 0;
  const finish = (err?: Error) => {
    if (finished) return;
    if (err) {
      finished = true;
      a.destroy();
      b.destroy();
      done?.(err);
    } else if (++closed === 2) {
      finished = true;
      done?.();
    }
  };
  a.pipe(b);
  b.pipe(a);
  a.once("error", finish);
  b.once("error", finish);
  a.once("close", () => finish());
  b.once("close", () => finish());
}
