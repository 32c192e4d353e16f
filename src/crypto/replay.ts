/**
 * Sliding anti-replay window over 64-bit counters (RFC 6479 style, like WireGuard):
 * a counter is accepted once, if it is newer than `highest - size`.
 * `check` is side-effect free so a packet is only `commit`ted after it authenticated.
 */
export class ReplayWindow {
  private highest = -1n;
  private readonly bits: Uint32Array;

  constructor(private readonly size = 2048) {
    this.bits = new Uint32Array(size / 32);
  }

  check(counter: bigint): boolean {
    if (counter < 0n) return false;
    if (counter > this.highest) return true;
    if (this.highest - counter >= BigInt(this.size)) return false;
    const i = Number(counter % BigInt(this.size));
    return (this.bits[i >>> 5] & (1 << (i & 31))) === 0;
  }

  commit(counter: bigint): void {
    const size = BigInt(this.size);
    if (counter > this.highest) {
      // Clear the slots the window slides over.
      const advance = counter - this.highest;
      if (advance >= size) this.bits.fill(0);
      else for (let c = this.highest + 1n; c <= counter; c++) this.clear(Number(c % size));
      this.highest = counter;
    }
    const i = Number(counter % size);
    this.bits[i >>> 5] |= 1 << (i & 31);
  }

  /** Checks and commits in one step; for callers that authenticated already. */
  accept(counter: bigint): boolean {
    if (!this.check(counter)) return false;
    this.commit(counter);
    return true;
  }

  private clear(i: number): void {
    this.bits[i >>> 5] &= ~(1 << (i & 31));
  }
}
