/** The SOCKS5 endpoint: see server.ts for the adapter, handshake.ts for the protocol core. */
export type { SocksCredentials } from "./credentials.js";
export { warnIfExposed } from "./exposure.js";
export { type HandshakeAction, type HandshakeState, SocksHandshake } from "./handshake.js";
export { replyForRefusal } from "./reply-codes.js";
export {
  type SocksServer,
  type SocksServerOptions,
  type SocksServerStats,
  startSocksServer,
} from "./server.js";
