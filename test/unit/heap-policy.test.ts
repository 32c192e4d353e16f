/**
 * The heap policy (src/cli/heap-policy.ts): its flags exist, and it keeps V8's young generation
 * at its initial size under the allocation pattern that makes V8 grow it (objects that survive a
 * collection or two). Run in
 * a fresh node process each, since V8 flags are process-wide; the run without the policy shows
 * the workload does grow the young generation, so the check can fail.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { HEAP_FLAGS } from "../../src/cli/heap-policy.js";

const WORKLOAD = `
import v8 from "node:v8";
for (const f of JSON.parse(process.env.FLAGS)) v8.setFlagsFromString(f);
const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size;
const start = newSpace();
const keep = new Array(50000);
for (let i = 0; i < 3_000_000; i++) keep[i % keep.length] = { i, b: Buffer.allocUnsafe(16) };
console.log(JSON.stringify({ start, end: newSpace() }));
`;

function newSpaceGrowth(flags: readonly string[]): { start: number; end: number } {
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", WORKLOAD], {
    env: { ...process.env, FLAGS: JSON.stringify(flags) },
    encoding: "utf8",
  });
  return JSON.parse(out);
}

describe("heap policy", () => {
  // setFlagsFromString ignores flags V8 does not know: a typo, or a flag a newer Node dropped,
  // would silently undo the policy. (What the growth limit does to peak RSS is measured by
  // `npm run bench`, not here.)
  it("uses only flags this V8 knows", () => {
    const known = execFileSync(process.execPath, ["--v8-options"], { encoding: "utf8" });
    for (const flag of HEAP_FLAGS) {
      const name = flag.replace(/^--/, "").replace(/=.*$/, "");
      expect(known).toContain(`--${name} `);
    }
  });

  it("keeps the young generation small where V8 would grow it", () => {
    const MB = 1024 * 1024;
    const without = newSpaceGrowth([]);
    expect(without.end).toBeGreaterThan(8 * MB);
    const withPolicy = newSpaceGrowth(HEAP_FLAGS);
    expect(withPolicy.end).toBeLessThanOrEqual(4 * MB);
  }, 30_000);
});
