/**
 * Public surface of the reliable channel: a reliable, ordered byte stream over datagrams.
 *
 * Typical use (one per peer session, UDP path):
 *
 *   const channel = new ReliableChannel({ now: clock.now(), overhead: 30, maxDatagramSize: 65000 });
 *   const drv = new ReliableDriver(channel, { send: (d) => session.sealAndSend(0x01, d) });
 *   session.on("inner", (type, body) => type === 0x01 && drv.input(body));
 *   drv.on("data", (chunk) => mux.onBytes(chunk));
 *   if (!drv.write(bytes)) await once(drv, "drain");
 *   drv.on("dead", (reason) => ...);   drv.on("close", (reason, byPeer) => ...);
 *
 * Buffers passed to write() are kept, not copied: do not modify them afterwards. Chunks emitted
 * as 'data' are views into received datagrams.
 */
export { ReliableChannel } from "./channel.js";
export {
  ABSOLUTE_MAX_DATAGRAM_SIZE,
  BASE_DATAGRAM_SIZE,
  DEFAULT_MAX_DATAGRAM_SIZE,
} from "./constants.js";
export { ReliableDriver, type ReliableDriverEvents, type ReliableDriverOptions } from "./driver.js";
export { ReliableOptionsError } from "./errors.js";
export type { ChannelState, ChannelStats, DeadReason, ReliableChannelOptions } from "./types.js";
