/**
 * Pure, total decoders and encoders of the SOCKS5 handshake messages. Each decoder looks at the
 * start of a buffer and says: not enough bytes yet, a message of `size` bytes, or a message that
 * cannot be valid (with the reply the RFC asks for). They never throw and never read past `buf`.
 */
import { isIP } from "node:net";
import { isHostname } from "../../util/addr.js";
import { formatIp } from "../acl-ip.js";
import { AddressType, Reply, type ReplyCode, SOCKS_VERSION, USERPASS_VERSION } from "./constants.js";

export type Decoded<T> =
  | { status: "incomplete" }
  | { status: "ok"; value: T; size: number }
  | { status: "invalid"; why: string };

const INCOMPLETE = { status: "incomplete" } as const;

/** Version identifier/method selection message: VER NMETHODS METHODS… */
export function decodeGreeting(buf: Uint8Array): Decoded<{ methods: number[] }> {
  if (buf.length < 1) return INCOMPLETE;
  if (buf[0] !== SOCKS_VERSION) return { status: "invalid", why: `not SOCKS5 (version byte ${buf[0]})` };
  if (buf.length < 2) return INCOMPLETE;
  const size = 2 + buf[1];
  if (buf.length < size) return INCOMPLETE;
  return { status: "ok", value: { methods: Array.from(buf.subarray(2, size)) }, size };
}

/** RFC 1929 request: VER ULEN UNAME PLEN PASSWD. */
export function decodeUserPass(buf: Uint8Array): Decoded<{ username: Uint8Array; password: Uint8Array }> {
  if (buf.length < 1) return INCOMPLETE;
  if (buf[0] !== USERPASS_VERSION) return { status: "invalid", why: `bad auth version ${buf[0]}` };
  if (buf.length < 2) return INCOMPLETE;
  const ulen = buf[1];
  if (buf.length < 3 + ulen) return INCOMPLETE;
  const plen = buf[2 + ulen];
  const size = 3 + ulen + plen;
  if (buf.length < size) return INCOMPLETE;
  return {
    status: "ok",
    value: { username: buf.slice(2, 2 + ulen), password: buf.slice(3 + ulen, size) },
    size,
  };
}

export type RequestDecoded =
  | { status: "incomplete" }
  | { status: "ok"; size: number; command: number; target: string }
  /** The request cannot be served; send `reply` and close. */
  | { status: "invalid"; why: string; reply: ReplyCode };

/**
 * Request: VER CMD RSV ATYP DST.ADDR DST.PORT. The target comes out as this project's target
 * string: `1.2.3.4:80`, `[::1]:80` or `name:80` — a name stays unresolved so that it is resolved
 * on the exit peer. RSV is not checked (some clients send garbage there; it carries nothing).
 */
export function decodeRequest(buf: Uint8Array): RequestDecoded {
  if (buf.length < 1) return INCOMPLETE;
  if (buf[0] !== SOCKS_VERSION)
    return { status: "invalid", why: `bad request version ${buf[0]}`, reply: Reply.GENERAL_FAILURE };
  if (buf.length < 4) return INCOMPLETE;
  const command = buf[1];
  const atyp = buf[3];
  let host: string;
  let addrEnd: number;
  if (atyp === AddressType.IPV4) {
    addrEnd = 8;
    if (buf.length < addrEnd + 2) return INCOMPLETE;
    host = formatIp({ family: 4, bytes: buf.subarray(4, 8) });
  } else if (atyp === AddressType.IPV6) {
    addrEnd = 20;
    if (buf.length < addrEnd + 2) return INCOMPLETE;
    host = `[${formatIp({ family: 6, bytes: buf.subarray(4, 20) })}]`;
  } else if (atyp === AddressType.DOMAIN) {
    if (buf.length < 5) return INCOMPLETE;
    addrEnd = 5 + buf[4];
    if (buf.length < addrEnd + 2) return INCOMPLETE;
    const name = domainHost(buf.subarray(5, addrEnd));
    if (name === undefined)
      return { status: "invalid", why: "destination is not a host name", reply: Reply.GENERAL_FAILURE };
    host = name;
  } else {
    return { status: "invalid", why: `address type ${atyp}`, reply: Reply.ADDRESS_TYPE_NOT_SUPPORTED };
  }
  const port = (buf[addrEnd] << 8) | buf[addrEnd + 1];
  if (port === 0) return { status: "invalid", why: "destination port 0", reply: Reply.GENERAL_FAILURE };
  return { status: "ok", size: addrEnd + 2, command, target: `${host}:${port}` };
}

/** Some clients send an IP literal as a "domain"; anything else must be a plain host name. */
function domainHost(bytes: Uint8Array): string | undefined {
  const text = Buffer.from(bytes).toString("latin1");
  const kind = isIP(text);
  if (kind === 4) return text;
  if (kind === 6) return text.includes("%") ? undefined : `[${text}]`;
  return isHostname(text) ? text : undefined;
}

export function encodeMethodSelection(method: number): Uint8Array {
  return Uint8Array.of(SOCKS_VERSION, method);
}

export function encodeAuthStatus(ok: boolean): Uint8Array {
  return Uint8Array.of(USERPASS_VERSION, ok ? 0x00 : 0x01);
}

/**
 * Reply with BND.ADDR 0.0.0.0:0: the real socket is on the exit peer, and clients of CONNECT
 * do not use the bound address (OpenSSH's -D answers the same way).
 */
export function encodeReply(code: ReplyCode): Uint8Array {
  return Uint8Array.of(SOCKS_VERSION, code, 0x00, AddressType.IPV4, 0, 0, 0, 0, 0, 0);
}
