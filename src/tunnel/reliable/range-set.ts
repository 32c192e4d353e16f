/**
 * A set of non-negative integers kept as sorted, disjoint, non-adjacent half-open ranges in one
 * flat array [s0, e0, s1, e1, ...]. Used for received packet numbers, acknowledged stream bytes
 * and stream bytes waiting for retransmission. Additions at the top (the common case: packet
 * numbers and offsets grow) are O(1); others are a binary search plus a splice.
 */
export class RangeSet {
  /** Flat ascending [start, end) pairs; read-only for callers. */
  readonly r: number[] = [];

  get count(): number {
    return this.r.length >> 1;
  }

  get isEmpty(): boolean {
    return this.r.length === 0;
  }

  /** Smallest member; only valid when not empty. */
  get min(): number {
    return this.r[0];
  }

  /** One past the largest member; only valid when not empty. */
  get end(): number {
    return this.r[this.r.length - 1];
  }

  has(v: number): boolean {
    const r = this.r;
    let lo = 0;
    let hi = (r.length >> 1) - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (v < r[2 * mid]) hi = mid - 1;
      else if (v >= r[2 * mid + 1]) lo = mid + 1;
      else return true;
    }
    return false;
  }

  add(start: number, end: number): void {
    if (end <= start) return;
    const r = this.r;
    const n = r.length;
    if (n === 0 || start > r[n - 1]) {
      r.push(start, end);
      return;
    }
    if (start >= r[n - 2]) {
      if (end > r[n - 1]) r[n - 1] = end;
      return;
    }
    // General case: find the first range whose end >= start (it may merge), and the last
    // range whose start <= end; replace them all by one merged range.
    const i = this.firstEndingAtOrAfter(start);
    let j = i;
    while (j < n && r[j] <= end) j += 2;
    if (i === j) {
      r.splice(i, 0, start, end);
      return;
    }
    const s = Math.min(start, r[i]);
    const e = Math.max(end, r[j - 1]);
    r.splice(i, j - i, s, e);
  }

  /** Removes [start, end) from the set. */
  remove(start: number, end: number): void {
    if (end <= start) return;
    const r = this.r;
    let i = this.firstEndingAtOrAfter(start + 1);
    while (i < r.length && r[i] < end) {
      const s = r[i];
      const e = r[i + 1];
      if (s < start && e > end) {
        r.splice(i, 2, s, start, end, e);
        return;
      }
      if (s < start) {
        r[i + 1] = start;
        i += 2;
      } else if (e > end) {
        r[i] = end;
        return;
      } else {
        r.splice(i, 2);
      }
    }
  }

  /** Drops the lowest ranges until at most `maxRanges` remain. */
  keepHighest(maxRanges: number): void {
    const excess = this.r.length - 2 * maxRanges;
    if (excess > 0) this.r.splice(0, excess);
  }

  /** Removes every member below `v`. */
  removeBelow(v: number): void {
    const r = this.r;
    let k = 0;
    while (k < r.length && r[k + 1] <= v) k += 2;
    if (k > 0) r.splice(0, k);
    if (r.length > 0 && r[0] < v) r[0] = v;
  }

  clear(): void {
    this.r.length = 0;
  }

  /** Index (even) of the first range with end >= v, or length when none. */
  private firstEndingAtOrAfter(v: number): number {
    const r = this.r;
    let lo = 0;
    let hi = r.length >> 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (r[2 * mid + 1] < v) lo = mid + 1;
      else hi = mid;
    }
    return 2 * lo;
  }
}
