/**
 * Stream refusal → RFC 1928 reply code. RFC 1928 has no "timed out" code; like Tor we answer
 * TTL_EXPIRED (0x06) so a client can tell a timeout from an unreachable host. A peer we have no
 * path to is "network unreachable": the overlay network to it is down.
 */
import type { StreamRefusalCode } from "../stream-errors.js";
import { Reply, type ReplyCode } from "./constants.js";

const REPLY_FOR_REFUSAL: Record<StreamRefusalCode, ReplyCode> = {
  NOT_ALLOWED: Reply.NOT_ALLOWED,
  CONNECTION_REFUSED: Reply.CONNECTION_REFUSED,
  HOST_UNREACHABLE: Reply.HOST_UNREACHABLE,
  NAME_NOT_RESOLVED: Reply.HOST_UNREACHABLE,
  NETWORK_UNREACHABLE: Reply.NETWORK_UNREACHABLE,
  TIMEOUT: Reply.TTL_EXPIRED,
  PEER_NOT_CONNECTED: Reply.NETWORK_UNREACHABLE,
  INTERNAL: Reply.GENERAL_FAILURE,
  CANCELLED: Reply.GENERAL_FAILURE,
  BAD_TARGET: Reply.GENERAL_FAILURE,
};

export function replyForRefusal(code: StreamRefusalCode): ReplyCode {
  return REPLY_FOR_REFUSAL[code];
}
