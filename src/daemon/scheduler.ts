/**
 * Drives a sans-I/O core's timers: one Node timer per core, re-armed to the core's next
 * deadline after every interaction. Cores never see setTimeout; adapters never compute time.
 */
export interface TimedCore {
  nextTimer(): number | undefined;
  tick(now: number): void;
}

export class CoreTimer {
  private timer: NodeJS.Timeout | undefined;
  private armedFor: number | undefined;
  private closed = false;

  constructor(
    private readonly core: TimedCore,
    private readonly now: () => number,
  ) {}

  /** Call after anything that may have changed the core's next deadline. */
  rearm(): void {
    if (this.closed) return;
    const at = this.core.nextTimer();
    if (at === this.armedFor) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = at;
    if (at === undefined) return;
    const delay = Math.max(0, at - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.armedFor = undefined;
      this.core.tick(this.now());
      this.rearm();
    }, Math.ceil(delay));
    this.timer.unref?.();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
