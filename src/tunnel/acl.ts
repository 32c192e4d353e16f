/**
 * A peer's exit policy: which targets it may reach through this host. Default deny — an empty
 * list allows nothing.
 *
 * The rule for a target given as a name (decided here, enforced by the exit dialer): the name is
 * resolved, and each resolved address may be dialled when
 *   - an address rule (`127.0.0.1:22`, `10.0.0.0/8:80`, `*:…`) allows that address and port — the
 *     name adds nothing, so `localhost:22` works under `127.0.0.1:22`; or
 *   - a name rule (`nas.lan:445`, `*.lan:80`) allows the name and port, and the address is not a
 *     special-purpose one (loopback, link-local, unspecified, multicast; see acl-special.ts) —
 *     otherwise whoever controls a zone could point `evil.lan` at 127.0.0.1 and reach the exit
 *     host's own services.
 * So a name never reaches an address that neither an address rule nor a matching name rule
 * allows, and never reaches the exit host itself unless an address rule says so.
 */
import type { ParseResult } from "../util/addr.js";
import { type AllowRule, normalizeName, type PortRange, parseAllowEntry } from "./acl-entry.js";
import { cidrContains, parseIp } from "./acl-ip.js";
import { isSpecialPurposeAddress } from "./acl-special.js";

export type { AllowHost, AllowRule, PortRange } from "./acl-entry.js";
export { parseAllowEntry } from "./acl-entry.js";

export class Acl {
  constructor(readonly rules: readonly AllowRule[]) {}

  /** Parses every entry; on failure lists each bad entry with its index. */
  static parse(entries: readonly unknown[]): ParseResult<Acl> {
    const rules: AllowRule[] = [];
    const errors: string[] = [];
    entries.forEach((entry, i) => {
      const r = parseAllowEntry(entry);
      if (r.ok) rules.push(r.value);
      else errors.push(`allow[${i}]: ${r.error}`);
    });
    if (errors.length > 0) return { ok: false, error: errors.join("; ") };
    return { ok: true, value: new Acl(rules) };
  }

  static readonly denyAll = new Acl([]);

  /** Does a name rule (or `*`) allow this name? Says nothing about where the name resolves. */
  allowsName(name: string, port: number): boolean {
    const n = normalizeName(name);
    return this.rules.some((r) => {
      if (!inRange(r.ports, port)) return false;
      const h = r.host;
      if (h.kind === "any") return true;
      if (h.kind === "name") return h.name === n;
      if (h.kind === "suffix") return n.endsWith(`.${h.suffix}`);
      return false;
    });
  }

  /** Does an address rule (or `*`) allow this IP literal? Anything that is not an IP is refused. */
  allowsAddress(ip: string, port: number): boolean {
    const addr = parseIp(ip);
    if (!addr) return false;
    return this.rules.some((r) => {
      if (!inRange(r.ports, port)) return false;
      if (r.host.kind === "any") return true;
      return r.host.kind === "cidr" && cidrContains(r.host.cidr, addr);
    });
  }

  /** May `name` (a target given by name) be dialled at `ip`, one of its resolved addresses? */
  allowsResolved(name: string, ip: string, port: number): boolean {
    if (this.allowsAddress(ip, port)) return true;
    const addr = parseIp(ip);
    return !!addr && !isSpecialPurposeAddress(addr) && this.allowsName(name, port);
  }

  /** Could any address at all be allowed on this port? Lets the dialer skip a useless lookup. */
  hasAddressRuleFor(port: number): boolean {
    return this.rules.some(
      (r) => inRange(r.ports, port) && (r.host.kind === "cidr" || r.host.kind === "any"),
    );
  }
}

function inRange(ports: PortRange, port: number): boolean {
  return Number.isInteger(port) && port >= ports.from && port <= ports.to;
}
