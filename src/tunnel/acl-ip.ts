/**
 * IP addresses as bytes and CIDR blocks, for the exit ACL. IPv4-mapped IPv6 (`::ffff:a.b.c.d`,
 * which dual-stack sockets and some resolvers report) is folded into plain IPv4 so that a rule
 * written either way matches an address written either way.
 */
import { isIP } from "node:net";

export interface IpAddr {
  family: 4 | 6;
  bytes: Uint8Array; // 4 or 16 bytes
}

export interface Cidr {
  family: 4 | 6;
  bytes: Uint8Array; // network address, host bits zero
  prefix: number;
}

const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** Parses an IP literal (no brackets, no zone id); undefined when it is not one. */
export function parseIp(text: string): IpAddr | undefined {
  const kind = isIP(text);
  if (kind === 4) return { family: 4, bytes: parseV4(text) };
  if (kind !== 6 || text.includes("%")) return undefined;
  const bytes = parseV6(text);
  if (MAPPED_PREFIX.every((b, i) => bytes[i] === b)) return { family: 4, bytes: bytes.slice(12) };
  return { family: 6, bytes };
}

function parseV4(text: string): Uint8Array {
  return Uint8Array.from(text.split(".").map(Number));
}

/** `text` has passed `isIP(text) === 6`, so its shape is known to be valid. */
function parseV6(text: string): Uint8Array {
  const lastColon = text.lastIndexOf(":");
  const last = text.slice(lastColon + 1);
  if (last.includes(".")) {
    // Rewrite an embedded dotted quad as two hex groups, then parse one uniform form.
    const v4 = parseV4(last);
    const hi = ((v4[0] << 8) | v4[1]).toString(16);
    const lo = ((v4[2] << 8) | v4[3]).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const [head, rest] = text.split("::");
  const headGroups = head ? head.split(":") : [];
  const restGroups = rest ? rest.split(":") : [];
  const missing = rest === undefined ? 0 : 8 - headGroups.length - restGroups.length;
  const groups = [...headGroups, ...new Array<string>(missing).fill("0"), ...restGroups];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = Number.parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** Canonical text (RFC 5952 for IPv6: lower case, longest run of 2+ zero groups as "::"). */
export function formatIp(ip: IpAddr): string {
  if (ip.family === 4) return Array.from(ip.bytes).join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip.bytes[i] << 8) | ip.bytes[i + 1]).toString(16));
  let runStart = -1;
  let runLength = 1; // a single zero group is not shortened
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > runLength) [runStart, runLength] = [i, j - i];
    i = Math.max(j, i + 1);
  }
  if (runStart < 0) return groups.join(":");
  return `${groups.slice(0, runStart).join(":")}::${groups.slice(runStart + runLength).join(":")}`;
}

/** Parses `addr/prefix`; a block with host bits set is an error (it is usually a typo). */
export function parseCidr(text: string): { ok: true; value: Cidr } | { ok: false; error: string } {
  const slash = text.indexOf("/");
  const addrText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const ip = parseIp(addrText);
  if (!ip) return { ok: false, error: `"${addrText}" is not an IP address` };
  if (!/^\d{1,3}$/.test(prefixText)) return { ok: false, error: `"/${prefixText}" is not a prefix length` };
  let prefix = Number(prefixText);
  // A mapped v6 block (::ffff:10.0.0.0/104) was folded to v4 by parseIp; move its prefix too.
  if (ip.family === 4 && isIP(addrText) === 6) {
    if (prefix < 96) return { ok: false, error: `/${prefix} is too short for an IPv4-mapped address` };
    prefix -= 96;
  }
  const max = ip.family === 4 ? 32 : 128;
  if (prefix > max) return { ok: false, error: `/${prefix} is longer than ${max} bits` };
  const net = maskBytes(ip.bytes, prefix);
  if (!net.every((b, i) => b === ip.bytes[i])) {
    const suggestion = formatIp({ family: ip.family, bytes: net });
    return { ok: false, error: `${text} has host bits set; did you mean ${suggestion}/${prefix}?` };
  }
  return { ok: true, value: { family: ip.family, bytes: net, prefix } };
}

export function singleAddressCidr(ip: IpAddr): Cidr {
  return { family: ip.family, bytes: ip.bytes, prefix: ip.family === 4 ? 32 : 128 };
}

function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = bytes[i] & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

export function cidrContains(cidr: Cidr, ip: IpAddr): boolean {
  if (cidr.family !== ip.family) return false;
  const masked = maskBytes(ip.bytes, cidr.prefix);
  return masked.every((b, i) => b === cidr.bytes[i]);
}
