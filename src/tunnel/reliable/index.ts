/** Public surface of the reliable channel. */
export { ReliableChannel } from "./channel.js";
export { ABSOLUTE_MAX_DATAGRAM_SIZE, BASE_DATAGRAM_SIZE, DEFAULT_MAX_DATAGRAM_SIZE } from "./constants.js";
export { ReliableDriver, type ReliableDriverEvents, type ReliableDriverOptions } from "./driver.js";
export type { ChannelState, ChannelStats, DeadReason, ReliableChannelOptions } from "./types.js";
