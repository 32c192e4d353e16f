/**
 * The one source of time for protocol cores. Cores never call Date.now() or performance.now()
 * themselves: they are handed `now` (milliseconds, monotonic) so tests can drive a virtual clock.
 */
export type Millis = number;

export interface Clock {
  now(): Millis;
}

export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
};

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private t: Millis = 0) {}
  now(): Millis {
    return this.t;
  }
  advance(ms: Millis): void {
    this.t += ms;
  }
  set(ms: Millis): void {
    this.t = ms;
  }
}
