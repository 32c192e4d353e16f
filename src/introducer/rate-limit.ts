/**
 * Token buckets keyed by source IP, with bounded memory. The introducer checks the bucket before
 * any cryptography, so a flood costs it a map lookup per packet, not a Diffie-Hellman.
 */
interface Bucket {
  tokens: number;
  at: number;
}

export class SourceRateLimiter {
  /** Map iteration order is insertion order: re-inserting on use keeps it least-recent first. */
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly capacity: number,
    private readonly refillPerSecond: number,
    private readonly maxSources: number,
  ) {}

  /** Takes one token for `source`; false when its bucket is empty. */
  allow(source: string, now: number): boolean {
    let b = this.buckets.get(source);
    if (b) {
      this.buckets.delete(source);
      b.tokens = Math.min(this.capacity, b.tokens + ((now - b.at) / 1000) * this.refillPerSecond);
      b.at = now;
    } else {
      // Forgetting the least recent source only hands it a full bucket again: fail open, bounded.
      if (this.buckets.size >= this.maxSources) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: this.capacity, at: now };
    }
    this.buckets.set(source, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Drops buckets that have refilled completely: they hold no information. */
  prune(now: number): void {
    const fullAfterMs = (this.capacity / this.refillPerSecond) * 1000;
    // Least recently used first, so the first fresh bucket ends the scan.
    for (const [k, b] of this.buckets) {
      if (now - b.at < fullAfterMs) break;
      this.buckets.delete(k);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}
