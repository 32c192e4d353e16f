/**
 * Keeps dead packet buffers from piling up in the daemon's memory.
 *
 * Every datagram that moves through the tunnel leaves a few dead Buffers of up to 64 KB behind
 * (the socket's receive buffer, the cipher's output, the TCP chunks once acknowledged). Their
 * memory is outside V8's heap and is freed only when V8 collects the small JS objects that own
 * it; V8 lets such external memory grow by about 64 MB before it collects on its own, so at
 * loopback speed the daemon's RSS sat 60+ MB above its idle size. Asking for a young-generation
 * collection (a scavenge, ~1–2 ms) after every GC_EVERY_BYTES of tunnel traffic, and a full
 * one now and then for buffers that were old enough to be promoted, frees them in time.
 *
 * `gc` is exposed through a fresh context after setting --expose-gc at run time (V8 reads that
 * flag when a context is created); if that ever fails, pacing is simply off.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** Tunnel bytes between two young-generation collections. */
export const GC_EVERY_BYTES = 16 * 1024 * 1024;
/**
 * Every this many young collections, a full one (incremental, concurrent marking): bytes that
 * lived long enough to be promoted (TCP chunks waiting for their ACK) die in the old generation.
 */
export const MAJOR_EVERY = 4;

type GcFunction = (opts?: { type?: "minor" | "major"; execution?: "sync" | "async" }) => void;

let gcFn: GcFunction | null | undefined;
let bytesSinceGc = 0;
let minorCount = 0;

function load(): GcFunction | null {
  try {
    setFlagsFromString("--expose-gc");
    const fn = runInNewContext("gc") as unknown;
    return typeof fn === "function" ? (fn as GcFunction) : null;
  } catch {
    return null;
  }
}

/** Counts `bytes` of tunnel traffic; runs a scavenge once GC_EVERY_BYTES have passed. */
export function noteTunnelBytes(bytes: number): void {
  bytesSinceGc += bytes;
  if (bytesSinceGc < GC_EVERY_BYTES) return;
  bytesSinceGc = 0;
  if (gcFn === undefined) gcFn = load();
  if (gcFn === null) return;
  if (++minorCount % MAJOR_EVERY === 0) gcFn({ type: "major", execution: "async" });
  else gcFn({ type: "minor" });
}
