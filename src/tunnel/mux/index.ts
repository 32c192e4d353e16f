/** The stream multiplexer: public surface. See docs/PROTOCOL.md ("Mux") for the wire format. */
export { GOAWAY, type GoAwayCode, goAwayCodeName, RESET, type ResetCode, resetCodeName } from "./codes.js";
export { MuxCore, type MuxCoreOptions, type MuxCounters, type MuxEvent } from "./core.js";
export { StreamError, StreamRefusedError, StreamResetError } from "./errors.js";
export {
  type IncomingStream,
  type MuxCloseInfo,
  MuxSession,
  type MuxSessionOptions,
  type MuxSessionStats,
  type OpenOptions,
} from "./session.js";
export { MuxStream } from "./stream.js";
