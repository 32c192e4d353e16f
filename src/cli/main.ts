#!/usr/bin/env node
/**
 * The p2ptun executable: sets V8's heap policy while the heap is still small (./heap-policy.ts),
 * then loads the command line (./program.ts).
 */
import { applyHeapPolicy } from "./heap-policy.js";

applyHeapPolicy();
await import("./program.js");
