import { describe, expect, it } from "vitest";
import { Acl, parseAllowEntry } from "../../src/tunnel/acl.js";
import { formatIp, parseIp } from "../../src/tunnel/acl-ip.js";

function acl(...entries: string[]): Acl {
  const r = Acl.parse(entries);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

describe("parseAllowEntry accepts", () => {
  it.each([
    ["127.0.0.1:22", { kind: "cidr" }, 22, 22],
    ["[::1]:22", { kind: "cidr" }, 22, 22],
    ["10.0.0.0/8:80", { kind: "cidr" }, 80, 80],
    ["192.168.1.0/24:8000-8100", { kind: "cidr" }, 8000, 8100],
    ["[fd00::/8]:22", { kind: "cidr" }, 22, 22],
    ["example.lan:80", { kind: "name", name: "example.lan" }, 80, 80],
    ["EXAMPLE.Lan.:80", { kind: "name", name: "example.lan" }, 80, 80],
    ["*.lan:80", { kind: "suffix", suffix: "lan" }, 80, 80],
    ["*.lan:1-65535", { kind: "suffix", suffix: "lan" }, 1, 65535],
    ["*:443", { kind: "any" }, 443, 443],
    ["*:*", { kind: "any" }, 1, 65535],
    ["  10.1.2.3:*  ", { kind: "cidr" }, 1, 65535],
  ])("%s", (text, host, from, to) => {
    const r = parseAllowEntry(text);
    expect(r.ok ? r.value.host : r.error).toMatchObject(host);
    expect(r.ok && r.value.ports).toEqual({ from, to });
  });

  it("folds an IPv4-mapped address or block into IPv4", () => {
    const one = parseAllowEntry("[::ffff:10.0.0.1]:22");
    expect(one.ok && one.value.host).toMatchObject({ kind: "cidr", cidr: { family: 4, prefix: 32 } });
    const block = parseAllowEntry("[::ffff:10.0.0.0/104]:22");
    expect(block.ok && block.value.host).toMatchObject({ kind: "cidr", cidr: { family: 4, prefix: 8 } });
  });
});

describe("parseAllowEntry rejects with a useful message", () => {
  it.each([
    ["", /empty/],
    ["10.0.0.1", /missing port/],
    ["::1:22", /needs brackets/],
    ["[::1]", /expected a port/],
    ["[::1:22", /missing '\]'/],
    ["[10.0.0.1]:22", /only for IPv6/],
    ["10.0.0.1:0", /out of range/],
    ["10.0.0.1:70000", /out of range/],
    ["10.0.0.1:90-80", /backwards/],
    ["10.0.0.1:http", /not a port/],
    ["10.0.0.1/8:22", /host bits set; did you mean 10\.0\.0\.0\/8/],
    ["10.0.0.0/33:22", /longer than 32/],
    ["[fd00::/129]:22", /longer than 128/],
    ["10.0.0.256:22", /looks like an IP address/],
    ["foo*.lan:80", /only a leading/],
    ["bad_name!:80", /not an IP address, CIDR block or host name/],
    [":22", /host is empty/],
    ["a b:22", /spaces/],
    ["[fe80::1%eth0]:22", /zone/],
    ["localhost:22", /write 127\.0\.0\.1:PORT/],
    ["LocalHost.:22", /never reach the exit host/],
  ])("%j", (text, message) => {
    const r = parseAllowEntry(text);
    expect(r.ok).toBe(false);
    expect(r.ok ? "" : r.error).toMatch(message);
  });

  it("rejects a non-string", () => {
    expect(parseAllowEntry(22).ok).toBe(false);
  });

  it("Acl.parse names every bad entry by index", () => {
    const r = Acl.parse(["127.0.0.1:22", "nope", "1.2.3.4:0"]);
    expect(r.ok).toBe(false);
    expect(r.ok ? "" : r.error).toMatch(/allow\[1\].*allow\[2\]/);
  });
});

describe("Acl matching", () => {
  it("an empty list allows nothing", () => {
    const a = acl();
    expect(a.allowsAddress("127.0.0.1", 22)).toBe(false);
    expect(a.allowsName("localhost", 22)).toBe(false);
    expect(Acl.denyAll.allowsResolved("x.lan", "10.0.0.1", 22)).toBe(false);
  });

  it.each([
    [["127.0.0.1:22"], "127.0.0.1", 22, true],
    [["127.0.0.1:22"], "127.0.0.1", 23, false],
    [["127.0.0.1:22"], "127.0.0.2", 22, false],
    [["127.0.0.1:22"], "::ffff:127.0.0.1", 22, true],
    [["[::ffff:127.0.0.1]:22"], "127.0.0.1", 22, true],
    [["10.0.0.0/8:80"], "10.255.1.2", 80, true],
    [["10.0.0.0/8:80"], "11.0.0.1", 80, false],
    [["192.168.1.0/24:8000-8100"], "192.168.1.77", 8050, true],
    [["192.168.1.0/24:8000-8100"], "192.168.1.77", 8101, false],
    [["[fd00::/8]:22"], "fd12:3456::1", 22, true],
    [["[fd00::/8]:22"], "fe00::1", 22, false],
    [["[2001:db8::/33]:22"], "2001:db8:7fff::1", 22, true],
    [["[2001:db8::/33]:22"], "2001:db8:8000::1", 22, false],
    [["[::/0]:22"], "10.0.0.1", 22, false], // an IPv6 block never matches IPv4
    [["*:443"], "8.8.8.8", 443, true],
    [["*:443"], "::1", 443, true],
    [["*:443"], "8.8.8.8", 80, false],
    [["*.lan:80"], "10.0.0.1", 80, false], // name rules never match an address
    [["127.0.0.1:22"], "not-an-ip", 22, false],
  ])("%j allowsAddress(%s, %i) = %s", (entries, ip, port, expected) => {
    expect(acl(...entries).allowsAddress(ip, port)).toBe(expected);
  });

  it.each([
    [["example.lan:80"], "example.lan", 80, true],
    [["example.lan:80"], "Example.LAN.", 80, true],
    [["example.lan:80"], "www.example.lan", 80, false],
    [["*.lan:80"], "nas.lan", 80, true],
    [["*.lan:80"], "a.b.lan", 80, true],
    [["*.lan:80"], "lan", 80, false],
    [["*.lan:80"], "evillan", 80, false],
    [["*.lan:80"], "nas.lan", 81, false],
    [["*:*"], "anything.example", 1, true],
    [["10.0.0.0/8:80"], "nas.lan", 80, false], // address rules never match a name
  ])("%j allowsName(%s, %i) = %s", (entries, name, port, expected) => {
    expect(acl(...entries).allowsName(name, port)).toBe(expected);
  });

  it.each([
    // An address rule lets any name that resolves to it through: localhost:22 under 127.0.0.1:22.
    [["127.0.0.1:22"], "localhost", "127.0.0.1", 22, true],
    [["127.0.0.1:22"], "localhost", "::1", 22, false],
    // A name rule reaches ordinary addresses the name resolves to...
    [["*.lan:80"], "nas.lan", "192.168.1.5", 80, true],
    [["*.lan:80"], "nas.lan", "2001:db8::5", 80, true],
    // ...but never the exit host itself or link-local, unless an address rule lists it.
    [["*.lan:80"], "evil.lan", "127.0.0.1", 80, false],
    [["*.lan:80"], "evil.lan", "::ffff:127.0.0.1", 80, false],
    [["*.lan:80"], "evil.lan", "::1", 80, false],
    [["*.lan:80"], "evil.lan", "0.0.0.0", 80, false],
    [["*.lan:80"], "evil.lan", "169.254.169.254", 80, false],
    [["*.lan:80"], "evil.lan", "fe80::1", 80, false],
    [["*.lan:80", "127.0.0.1:80"], "evil.lan", "127.0.0.1", 80, true],
    [["*.lan:80"], "other.example", "192.168.1.5", 80, false],
    [["*:80"], "anything", "127.0.0.1", 80, true], // `*` is every address, by its own words
  ])("%j allowsResolved(%s → %s, %i) = %s", (entries, name, ip, port, expected) => {
    expect(acl(...entries).allowsResolved(name, ip, port)).toBe(expected);
  });

  it("hasAddressRuleFor only counts address and * rules on that port", () => {
    const a = acl("*.lan:80", "10.0.0.0/8:22");
    expect(a.hasAddressRuleFor(22)).toBe(true);
    expect(a.hasAddressRuleFor(80)).toBe(false);
    expect(acl("*:443").hasAddressRuleFor(443)).toBe(true);
  });
});

describe("IP parsing", () => {
  it.each([
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["2001:DB8::8:800:200C:417A", "2001:db8::8:800:200c:417a"],
    ["2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"],
    ["::ffff:1.2.3.4", "1.2.3.4"],
    ["64:ff9b::1.2.3.4", "64:ff9b::102:304"],
    ["1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"],
  ])("%s", (text, expected) => {
    expect(formatIp(parseIp(text)!)).toBe(expected);
  });
});
