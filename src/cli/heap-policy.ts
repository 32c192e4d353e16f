/**
 * V8's heap policy for p2ptun processes, applied before anything else is loaded.
 *
 * The data path moves bulk bytes through short-lived Buffers (socket reads, ciphertexts,
 * plaintexts) whose memory lives outside the JS heap and is freed only when V8 collects the
 * young generation that holds their small JS handles. V8 grows the young generation up to 32 MB
 * when much survives a collection, and a bigger young generation is collected less often: dead
 * packet buffers then pile up to tens of MB (V8 also collects for "external memory pressure", but
 * only ~64 MB past the last collection). Keeping the young generation at its initial size (no
 * growth) collects it every ~1 MB of JS allocation, so dead buffers go within milliseconds.
 * Measured with `npm run bench` (2-core VM, single stream and 64 streams): receiver peak RSS
 * 108-117 MB without, 87-93 MB with; sender 123-164 MB without, 116-133 MB with; idle 71 → 64 MB;
 * throughput the same within the run-to-run spread.
 *
 * The flag is read whenever V8 considers growing the young generation, so setting it at run time
 * works, but only before the startup allocations (module loading) have grown it: hence first.
 */
import { setFlagsFromString } from "node:v8";

export const HEAP_FLAGS = ["--semi-space-growth-factor=1"] as const;

export function applyHeapPolicy(): void {
  for (const flag of HEAP_FLAGS) setFlagsFromString(flag);
}
