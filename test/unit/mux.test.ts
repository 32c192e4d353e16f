import { memoryPipe } from "../../src/tunnel/channel.js";
import { muxComplianceSuite } from "./mux-compliance.js";

muxComplianceSuite("memory pipe", () => memoryPipe());
// Tiny chunks and a low high-water mark: frames arrive split at every possible place and the
// channel pushes back all the time.
muxComplianceSuite("memory pipe, 1000-byte chunks, 64 KiB high-water mark", () =>
  memoryPipe({ chunk: 1000, highWaterMark: 64 * 1024 }),
);
