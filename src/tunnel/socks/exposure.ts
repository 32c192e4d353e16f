/**
 * A SOCKS5 server without a password on a non-loopback address is an open proxy into every exit
 * our peers grant us. Not forbidden (a trusted LAN may want it), but the daemon must say so loudly.
 */
import { type Endpoint, formatEndpoint, isLoopback } from "../../util/addr.js";
import type { SocksCredentials } from "./credentials.js";

export function warnIfExposed(listen: Endpoint, credentials?: SocksCredentials): string | undefined {
  if (isLoopback(listen.host) || credentials) return undefined;
  return (
    `SOCKS5 server listens on ${formatEndpoint(listen)} WITHOUT a password: anyone who can reach ` +
    "this port can use every exit your peers allow you. Listen on 127.0.0.1 or set a username and password."
  );
}
