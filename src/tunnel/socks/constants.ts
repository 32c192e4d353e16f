/** RFC 1928 (SOCKS5) and RFC 1929 (username/password) numbers, and this server's limits. */

export const SOCKS_VERSION = 0x05;
export const USERPASS_VERSION = 0x01;

export const AuthMethod = {
  NONE: 0x00,
  USERNAME_PASSWORD: 0x02,
  NO_ACCEPTABLE: 0xff,
} as const;

export const Command = {
  CONNECT: 0x01,
  BIND: 0x02,
  UDP_ASSOCIATE: 0x03,
} as const;

export const AddressType = {
  IPV4: 0x01,
  DOMAIN: 0x03,
  IPV6: 0x04,
} as const;

export const Reply = {
  SUCCEEDED: 0x00,
  GENERAL_FAILURE: 0x01,
  NOT_ALLOWED: 0x02,
  NETWORK_UNREACHABLE: 0x03,
  HOST_UNREACHABLE: 0x04,
  CONNECTION_REFUSED: 0x05,
  TTL_EXPIRED: 0x06,
  COMMAND_NOT_SUPPORTED: 0x07,
  ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const;
export type ReplyCode = (typeof Reply)[keyof typeof Reply];

/** A client that has not finished its handshake by then is closed. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** After a failure reply, how long to keep draining the client before closing hard. */
export const FAILURE_LINGER_MS = 2_000;
/** Bytes a client may send after its request while the stream is still opening. */
export const MAX_EARLY_DATA_BYTES = 64 * 1024;
