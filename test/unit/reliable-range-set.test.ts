import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RangeSet } from "../../src/tunnel/reliable/range-set.js";

/** The set's members as a sorted array, checking the invariants on the way. */
function members(s: RangeSet): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.r.length; i += 2) {
    expect(s.r[i]).toBeLessThan(s.r[i + 1]);
    if (i > 0) expect(s.r[i]).toBeGreaterThan(s.r[i - 1]); // disjoint and not adjacent
    for (let v = s.r[i]; v < s.r[i + 1]; v++) out.push(v);
  }
  return out;
}

const op = fc.record({
  kind: fc.constantFrom("add", "remove", "removeBelow"),
  start: fc.nat(200),
  len: fc.integer({ min: 0, max: 30 }),
});

describe("RangeSet", () => {
  it("behaves like a set of integers under random add/remove/removeBelow", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const s = new RangeSet();
        const model = new Set<number>();
        for (const o of ops) {
          if (o.kind === "add") {
            s.add(o.start, o.start + o.len);
            for (let v = o.start; v < o.start + o.len; v++) model.add(v);
          } else if (o.kind === "remove") {
            s.remove(o.start, o.start + o.len);
            for (let v = o.start; v < o.start + o.len; v++) model.delete(v);
          } else {
            s.removeBelow(o.start);
            for (const v of [...model]) if (v < o.start) model.delete(v);
          }
        }
        const expected = [...model].sort((a, b) => a - b);
        expect(members(s)).toEqual(expected);
        for (let v = 0; v < 240; v++) expect(s.has(v)).toBe(model.has(v));
      }),
    );
  });

  it("keepHighest drops the lowest ranges", () => {
    const s = new RangeSet();
    for (let i = 0; i < 10; i++) s.add(i * 10, i * 10 + 5);
    s.keepHighest(3);
    expect(s.r).toEqual([70, 75, 80, 85, 90, 95]);
  });
});
