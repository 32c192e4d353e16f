import { memoryPipe } from "../../src/tunnel/channel.js";
import { muxComplianceSuite } from "./mux-compliance.js";

muxComplianceSuite("memory pipe", () => memoryPipe());
// Tiny chunks and a low high-water mark: frames arrive split at every possible place and the
// channel pushes back all the time.
muxComplianceSuite("memory pipe, 1000-byte chunks, 64 KiB high-water mark", () =>
  memoryPipe({ chunk: 1000, highWaterMark: 64 * 1024 }),
);
// The most hostile settings: every channel write is refused (high-water mark of 1 byte), 1 KiB
// frames, and a stream send buffer of 1 byte so every Duplex write waits for the core.
muxComplianceSuite(
  "memory pipe, 333-byte chunks, 1-byte high-water mark, 1 KiB frames, no send buffer",
  () => memoryPipe({ chunk: 333, highWaterMark: 1 }),
  { maxFrameSize: 1024, streamSendBuffer: 1 },
);
