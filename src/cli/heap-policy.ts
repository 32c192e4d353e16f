/**
 * V8's heap policy for p2ptun processes, applied before anything else is loaded.
 *
 * The data path moves bulk bytes through short-lived Buffers (socket reads, ciphertexts,
 * plaintexts) whose memory lives outside the JS heap. V8 frees it only when it collects the JS
 * handles, and it does not weigh that memory well when deciding when to collect. Two flags:
 *
 * - `--semi-space-growth-factor=1`: V8 grows the young generation up to 32 MB when much survives
 *   a collection, and a bigger young generation is collected less often: dead packet buffers then
 *   pile up to tens of MB. Kept at its initial size it is collected every ~1 MB of JS allocation.
 *   `npm run bench` (2-core VM): receiver peak RSS 108-117 → 87-93 MB, sender 123-164 →
 *   116-133 MB, idle 71 → 64 MB, throughput the same within the run-to-run spread.
 * - `--heap-growing-percent=150`: buffers that wait tens of milliseconds (a socket read queued
 *   behind 63 other uploads) outlive young collections and are freed only by a full one. V8
 *   starts the next full collection when the heap plus the memory allocated outside it since the
 *   last one reaches a limit set after each collection at 1.7-4× the live heap (13 MB here); at
 *   4× the 64-stream sender's peak went over 120 MB. The limit is now 2.5× at most. Alternating
 *   bench pairs (single stream + 64 streams): 64-stream sender peak 110/131/109 → 118/112/113 MB
 *   (nine runs at 2.5×: 111-118), daemon CPU per MB the same (3.1-4.3 ms/MB both). At 2× full
 *   collections ran back to back and CPU per MB doubled.
 *
 * The flags are read whenever V8 sizes a generation, so setting them at run time works, but
 * only before the startup allocations (module loading) have grown the young generation: hence
 * first.
 */
import { setFlagsFromString } from "node:v8";

export const HEAP_FLAGS = ["--semi-space-growth-factor=1", "--heap-growing-percent=150"] as const;

export function applyHeapPolicy(): void {
  for (const flag of HEAP_FLAGS) setFlagsFromString(flag);
}
