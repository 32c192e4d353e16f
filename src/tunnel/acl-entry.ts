/**
 * One `allow` entry of a peer's exit policy, parsed from config text. Forms (port is `N`, `N-M`
 * or `*`; `*` means 1-65535):
 *
 *   127.0.0.1:22   [::1]:22          one address
 *   10.0.0.0/8:80  [fd00::/8]:22     a CIDR block
 *   nas.lan:445    *.lan:80          a host name, or every name under a domain (not the domain itself)
 *   *:443          *:*               any address and any name; `*:*` lets the peer reach everything
 *
 * Errors are one sentence a person can act on; the config loader shows them as they are.
 */
import { isHostname, type ParseResult } from "../util/addr.js";
import { type Cidr, parseCidr, parseIp, singleAddressCidr } from "./acl-ip.js";

export interface PortRange {
  from: number;
  to: number;
}

export type AllowHost =
  | { kind: "any" }
  | { kind: "cidr"; cidr: Cidr }
  | { kind: "name"; name: string } // lower case, no trailing dot
  | { kind: "suffix"; suffix: string }; // `*.lan` is stored as "lan"

export interface AllowRule {
  text: string;
  host: AllowHost;
  ports: PortRange;
}

const EXAMPLES = "e.g. 127.0.0.1:22, 10.0.0.0/8:80, [::1]:22, *.lan:8000-8100";

export function parseAllowEntry(input: unknown): ParseResult<AllowRule> {
  if (typeof input !== "string") return { ok: false, error: `an allow entry must be a string (${EXAMPLES})` };
  const text = input.trim();
  if (text === "") return { ok: false, error: `an allow entry is empty; write host:port (${EXAMPLES})` };
  if (/\s/.test(text))
    return { ok: false, error: `"${text}" contains spaces; write host:port (${EXAMPLES})` };
  const split = splitHostAndPorts(text);
  if (!split.ok) return split;
  const ports = parsePorts(split.value.portText);
  if (!ports.ok) return { ok: false, error: `"${text}": ${ports.error}` };
  const host = split.value.bracketed
    ? parseBracketedHost(split.value.hostText)
    : parseHost(split.value.hostText);
  if (!host.ok) return { ok: false, error: `"${text}": ${host.error}` };
  return { ok: true, value: { text, host: host.value, ports: ports.value } };
}

function splitHostAndPorts(
  text: string,
): ParseResult<{ hostText: string; portText: string; bracketed: boolean }> {
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return { ok: false, error: `"${text}": missing ']' after the IPv6 address` };
    const rest = text.slice(close + 1);
    if (!rest.startsWith(":") || rest.length === 1)
      return { ok: false, error: `"${text}": expected a port after ']', e.g. [::1]:22 or [fd00::/8]:*` };
    return { ok: true, value: { hostText: text.slice(1, close), portText: rest.slice(1), bracketed: true } };
  }
  const colons = text.split(":").length - 1;
  if (colons === 0)
    return { ok: false, error: `"${text}": missing port; write ${text}:22, ${text}:8000-8100 or ${text}:*` };
  if (colons > 1)
    return { ok: false, error: `"${text}": an IPv6 address needs brackets, e.g. [::1]:22 or [fd00::/8]:80` };
  const i = text.indexOf(":");
  const hostText = text.slice(0, i);
  if (hostText === "") return { ok: false, error: `"${text}": the host is empty (use * for any host)` };
  return { ok: true, value: { hostText, portText: text.slice(i + 1), bracketed: false } };
}

function parsePorts(text: string): ParseResult<PortRange> {
  if (text === "*") return { ok: true, value: { from: 1, to: 65535 } };
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!m) return { ok: false, error: `"${text}" is not a port, a range like 8000-8100, or *` };
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  for (const p of [from, to])
    if (p < 1 || p > 65535) return { ok: false, error: `port ${p} is out of range 1-65535` };
  if (from > to) return { ok: false, error: `port range ${from}-${to} is backwards; write ${to}-${from}` };
  return { ok: true, value: { from, to } };
}

function parseBracketedHost(text: string): ParseResult<AllowHost> {
  if (text.includes("%")) return { ok: false, error: "IPv6 zone ids (%eth0) are not supported" };
  const addrPart = text.split("/")[0];
  if (parseIp(addrPart)?.family === 4 && !addrPart.includes(":"))
    return { ok: false, error: "brackets are only for IPv6 addresses; write IPv4 without them" };
  return parseAddressHost(text);
}

function parseHost(text: string): ParseResult<AllowHost> {
  if (text === "*") return { ok: true, value: { kind: "any" } };
  if (text.includes("/") || parseIp(text)) return parseAddressHost(text);
  if (text.startsWith("*.")) {
    const name = parseName(text.slice(2));
    return name.ok ? { ok: true, value: { kind: "suffix", suffix: name.value } } : name;
  }
  if (text.includes("*"))
    return { ok: false, error: "only a leading '*.' wildcard is supported, as in *.lan, or * alone" };
  const name = parseName(text);
  if (!name.ok) return name;
  // A name rule never reaches loopback (see acl.ts), so `localhost:22` would allow nothing.
  if (name.value === "localhost" || name.value.endsWith(".localhost"))
    return {
      ok: false,
      error: "name rules never reach the exit host itself; write 127.0.0.1:PORT and/or [::1]:PORT",
    };
  return { ok: true, value: { kind: "name", name: name.value } };
}

function parseAddressHost(text: string): ParseResult<AllowHost> {
  if (text.includes("/")) {
    const cidr = parseCidr(text);
    return cidr.ok ? { ok: true, value: { kind: "cidr", cidr: cidr.value } } : cidr;
  }
  const ip = parseIp(text);
  if (!ip) return { ok: false, error: `"${text}" is not an IP address` };
  return { ok: true, value: { kind: "cidr", cidr: singleAddressCidr(ip) } };
}

function parseName(text: string): ParseResult<string> {
  const name = normalizeName(text);
  if (!isHostname(name) || name === "")
    return { ok: false, error: `"${text}" is not an IP address, CIDR block or host name` };
  // "10.0.0.256" passes the host name grammar but is almost surely a mistyped address.
  if (/^\d+$/.test(name.split(".").at(-1)!))
    return { ok: false, error: `"${text}" looks like an IP address but is not a valid one` };
  return { ok: true, value: name };
}

/** Names compare case-insensitively and without the root dot: `NAS.lan.` is `nas.lan`. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}
