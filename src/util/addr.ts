import { isIP } from "node:net";

/** An IP endpoint. `host` is an IP literal (v4 or v6, no brackets) or, in config only, a name. */
export interface Endpoint {
  host: string;
  port: number;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

const HOSTNAME =
  /^(?=.{1,253}$)([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)*\.?$/;

export function isHostname(s: string): boolean {
  return HOSTNAME.test(s);
}

/**
 * Parses `host:port`, `[v6]:port`. With `allowZeroPort` a port of 0 means "any".
 * Returns a message a person understands instead of throwing.
 */
export function parseHostPort(
  input: string,
  opts: { allowZeroPort?: boolean; defaultPort?: number } = {},
): ParseResult<Endpoint> {
  if (typeof input !== "string" || input.length === 0) return { ok: false, error: "empty" };
  let host: string;
  let portText: string | undefined;
  if (input.startsWith("[")) {
    const close = input.indexOf("]");
    if (close < 0) return { ok: false, error: "missing ']' in IPv6 address" };
    host = input.slice(1, close);
    const rest = input.slice(close + 1);
    if (rest === "") portText = undefined;
    else if (rest.startsWith(":")) portText = rest.slice(1);
    else return { ok: false, error: "expected ':port' after ']'" };
    if (isIP(host) !== 6) return { ok: false, error: `"${host}" is not an IPv6 address` };
  } else {
    const colons = input.split(":").length - 1;
    if (colons > 1) return { ok: false, error: "an IPv6 address needs brackets: [addr]:port" };
    const i = input.lastIndexOf(":");
    if (i < 0) {
      host = input;
      portText = undefined;
    } else {
      host = input.slice(0, i);
      portText = input.slice(i + 1);
    }
    if (host === "") return { ok: false, error: "the host is empty" };
    if (isIP(host) === 0 && !isHostname(host))
      return { ok: false, error: `"${host}" is not an IP address or host name` };
  }
  let port: number;
  if (portText === undefined) {
    if (opts.defaultPort === undefined) return { ok: false, error: "the port is missing" };
    port = opts.defaultPort;
  } else {
    if (!/^\d{1,5}$/.test(portText)) return { ok: false, error: `"${portText}" is not a port number` };
    port = Number(portText);
    const min = opts.allowZeroPort ? 0 : 1;
    if (port < min || port > 65535) return { ok: false, error: `port ${port} is out of range ${min}-65535` };
  }
  return { ok: true, value: { host, port } };
}

export function formatEndpoint(e: Endpoint): string {
  return isIP(e.host) === 6 ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

export function sameEndpoint(a: Endpoint | undefined, b: Endpoint | undefined): boolean {
  return !!a && !!b && a.port === b.port && normalizeIp(a.host) === normalizeIp(b.host);
}

/** Maps IPv4-mapped IPv6 (`::ffff:1.2.3.4`) to plain IPv4, as dual-stack sockets report it. */
export function normalizeIp(ip: string): string {
  return ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

export function isLoopback(ip: string): boolean {
  const n = normalizeIp(ip);
  return n === "::1" || n.startsWith("127.") || n === "localhost";
}
