import { BlockList } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Acl, parseAllowEntry } from "../../src/tunnel/acl.js";
import { formatIp, parseIp } from "../../src/tunnel/acl-ip.js";

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join("."));
const v6Full = fc
  // Zero groups are frequent so that "::" runs of every length and position occur.
  .array(fc.oneof(fc.constant(0), fc.nat(0xffff)), { minLength: 8, maxLength: 8 })
  .map((g) => g.map((x) => x.toString(16)).join(":"));
/** The WHATWG URL parser writes IPv6 in its compressed canonical form: an independent formatter. */
const compress = (full: string) => new URL(`http://[${full}]/`).hostname.slice(1, -1);

describe("allow entry parser (property)", () => {
  it("never throws on arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 80 }), (s) => {
        const r = parseAllowEntry(s);
        expect(typeof r.ok).toBe("boolean");
        if (!r.ok) expect(r.error.length).toBeGreaterThan(0);
      }),
      { numRuns: 1000 },
    );
  });

  it("never throws on text built from the entry alphabet", () => {
    const alphabet = fc.constantFrom(..."0123456789abcdef:./[]*-%lanfx ".split(""));
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 40 }), (chars) => {
        const r = parseAllowEntry(chars.join(""));
        if (r.ok) {
          expect(r.value.ports.from).toBeGreaterThanOrEqual(1);
          expect(r.value.ports.to).toBeLessThanOrEqual(65535);
          expect(r.value.ports.from).toBeLessThanOrEqual(r.value.ports.to);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it("a truncated valid entry is rejected or parsed, never throws", () => {
    const entries = ["192.168.1.0/24:8000-8100", "[fd00::/8]:22", "*.lan:1-65535", "[::ffff:10.0.0.0/104]:*"];
    for (const e of entries) for (let i = 0; i <= e.length; i++) parseAllowEntry(e.slice(0, i));
    expect(parseAllowEntry(entries[0].slice(0, 10)).ok).toBe(false);
  });
});

describe("IP and CIDR matching (property, node:net BlockList as oracle)", () => {
  it("parses compressed IPv6 to the same bytes as the full form, and formats it canonically", () => {
    fc.assert(
      fc.property(v6Full, (full) => {
        const a = parseIp(full)!;
        expect(parseIp(compress(full))).toEqual(a);
        if (a.family === 6) expect(formatIp(a)).toBe(compress(full));
      }),
      { numRuns: 1000 },
    );
  });

  it("IPv4 block membership agrees with BlockList", () => {
    fc.assert(
      fc.property(
        v4,
        fc.integer({ min: 0, max: 32 }),
        v4,
        fc.integer({ min: 1, max: 65535 }),
        (net, prefix, addr, port) => {
          const network = maskedText(net, prefix);
          const acl = Acl.parse([`${network}/${prefix}:${port}`]);
          expect(acl.ok).toBe(true);
          if (!acl.ok) return;
          const oracle = new BlockList();
          oracle.addSubnet(network, prefix, "ipv4");
          expect(acl.value.allowsAddress(addr, port)).toBe(oracle.check(addr, "ipv4"));
          expect(acl.value.allowsAddress(network, port)).toBe(true);
          expect(acl.value.allowsAddress(`::ffff:${network}`, port)).toBe(true);
          expect(acl.value.allowsAddress(network, port === 65535 ? 1 : port + 1)).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("IPv6 block membership agrees with BlockList", () => {
    fc.assert(
      fc.property(
        v6Full,
        fc.integer({ min: 0, max: 128 }),
        v6Full,
        fc.boolean(),
        (net, prefix, other, near) => {
          const network = maskedText(net, prefix);
          // Landed in ::ffff:0:0/96, which folds to IPv4 and is covered by the IPv4 property.
          if (parseIp(network)?.family !== 6 || parseIp(other)?.family !== 6) return;
          // Half the time, test an address that shares the block's first bits, to hit the boundary.
          const addr = near ? nearAddress(network, other, prefix) : other;
          const acl = Acl.parse([`[${compress(network)}/${prefix}]:22`]);
          expect(acl.ok).toBe(true);
          if (!acl.ok || parseIp(addr)?.family !== 6) return;
          const oracle = new BlockList();
          oracle.addSubnet(network, prefix, "ipv6");
          expect(acl.value.allowsAddress(compress(addr), 22)).toBe(oracle.check(addr, "ipv6"));
          expect(acl.value.allowsAddress(network, 22)).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("a name-only policy never lets a name reach loopback or link-local", () => {
    const label = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/);
    const special = fc.constantFrom(
      "127.0.0.1",
      "127.9.9.9",
      "::1",
      "::ffff:127.0.0.1",
      "0.0.0.0",
      "::",
      "169.254.169.254",
      "fe80::1",
    );
    fc.assert(
      fc.property(fc.array(label, { minLength: 1, maxLength: 4 }), label, special, (domains, host, ip) => {
        const acl = Acl.parse(domains.flatMap((d) => [`*.${d}:*`, `${d}:*`]));
        expect(acl.ok).toBe(true);
        if (!acl.ok) return;
        expect(acl.value.allowsName(`${host}.${domains[0]}`, 80)).toBe(true);
        expect(acl.value.allowsResolved(`${host}.${domains[0]}`, ip, 80)).toBe(false);
      }),
    );
  });
});

function maskedText(ip: string, prefix: number): string {
  const parsed = parseIp(ip)!;
  const bytes = parsed.bytes.map(
    (b, i) => b & ((0xff << (8 - Math.max(0, Math.min(8, prefix - i * 8)))) & 0xff),
  );
  return formatIp({ family: parsed.family, bytes });
}

/** `other` with its first `prefix - 1` bits taken from `network`, so it sits next to the boundary. */
function nearAddress(network: string, other: string, prefix: number): string {
  const a = parseIp(network)!.bytes;
  const b = parseIp(other)!.bytes;
  const keep = Math.max(0, prefix - 1);
  const bytes = b.map((x, i) => {
    const bits = Math.max(0, Math.min(8, keep - i * 8));
    const mask = (0xff << (8 - bits)) & 0xff;
    return (a[i] & mask) | (x & ~mask & 0xff);
  });
  return formatIp({ family: 6, bytes });
}
